package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/store"
)

func TestConnectionLost(t *testing.T) {
	_, dialErr := net.Dial("tcp", "127.0.0.1:1") // nothing listens on port 1
	require.Error(t, dialErr)
	cases := []struct {
		err  error
		lost bool
	}{
		{dialErr, true},
		{fmt.Errorf("append: %w", syscall.ECONNRESET), true},
		{fmt.Errorf("reply: %w", io.ErrUnexpectedEOF), true},
		{io.EOF, true},
		{syscall.EPIPE, true},
		{errors.New("ERR wrong number of arguments"), false},
		{context.Canceled, false},
		{nil, false},
	}
	for _, tc := range cases {
		require.Equal(t, tc.lost, store.ConnectionLost(tc.err), "%v", tc.err)
	}
}

func TestRetryable(t *testing.T) {
	require.True(t, store.Retryable(fmt.Errorf("x: %w", store.ErrUnavailable)))
	require.True(t, store.Retryable(errors.New("anything else")))
	require.False(t, store.Retryable(fmt.Errorf("x: %w", store.ErrInvalid)))
	require.False(t, store.Retryable(fmt.Errorf("x: %w", store.ErrClosed)))
	require.False(t, store.Retryable(context.Canceled))
	require.False(t, store.Retryable(nil))
}

// secret is a password no error message may show.
const secret = "s3cret-Pw"

func TestOpenMalformedURLHidesThePassword(t *testing.T) {
	cases := []string{
		"postgres://postgres:" + secret + "@db.example:5432/sh%zzop",
		"postgres://postgres:" + secret + "%zz@db.example:5432/shop",
		"postgres://postgres:" + secret + "@db.example:54x2/shop",
		"redis://:" + secret + "@cache example:6379/0",
		"sqlite://u:" + secret + "@/tmp/x%1.db",
		"postgres://postgres:" + secret + "/x@db.example/shop", // an unescaped '/' ends the authority early
		"memory://:" + secret + "@\x7f",
	}
	for _, raw := range cases {
		t.Run(raw, func(t *testing.T) {
			_, err := store.Open(context.Background(), raw)
			require.Error(t, err)
			require.ErrorIs(t, err, store.ErrInvalid)
			for _, part := range []string{secret, secret[:6], "/x@db"} {
				require.NotContains(t, err.Error(), part)
			}
		})
	}
}

func TestParseURLNamesSchemeAndReason(t *testing.T) {
	_, err := store.ParseURL("postgres://u:" + secret + "@h/d%zzb")
	require.EqualError(t, err, "store: invalid request: malformed postgres URL: invalid URL escape")
	u, err := store.ParseURL("postgres://u:" + secret + "@h/db")
	require.NoError(t, err)
	require.Equal(t, "dial u:xxxxx@h: refused", store.RedactSecret("dial u:"+secret+"@h: refused", u))
}

func TestClassify(t *testing.T) {
	refused := errors.New("driver: refused")
	busy := errors.New("driver: busy")
	kind := func(err error) error {
		switch {
		case errors.Is(err, refused):
			return store.ErrInvalid
		case errors.Is(err, busy):
			return store.ErrUnavailable
		}
		return nil
	}
	_, dialErr := net.Dial("tcp", "127.0.0.1:1")
	cases := []struct {
		err  error
		want error // nil: returned unchanged
	}{
		{fmt.Errorf("insert: %w", refused), store.ErrInvalid},
		{busy, store.ErrUnavailable},
		{dialErr, store.ErrUnavailable},
		{io.ErrUnexpectedEOF, store.ErrUnavailable},
		{errors.New("syntax error"), nil},
		{context.Canceled, nil},
		{fmt.Errorf("x: %w", store.ErrClosed), nil},
	}
	for _, tc := range cases {
		got := store.Classify(tc.err, kind)
		require.ErrorIs(t, got, tc.err, "the driver's error stays in the chain")
		if tc.want == nil {
			require.Same(t, tc.err, got, "%v is returned unchanged", tc.err)
			continue
		}
		require.ErrorIs(t, got, tc.want, "%v", tc.err)
	}
	require.NoError(t, store.Classify(nil, kind))
}
