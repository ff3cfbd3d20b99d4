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
