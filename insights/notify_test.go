package insights_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
)

func sampleInsight() insights.Insight {
	return insights.Insight{ID: "ins_1", ShopID: shop, Rule: "flash_sale", Subject: "p1", Severity: insights.Critical,
		Title: "Demand spike", Message: "120 views, 1 purchase", Evidence: json.RawMessage(`{"views":120}`),
		WindowStart: t0.Add(-10 * time.Minute), WindowEnd: t0, CreatedAt: t0}
}

// webhookServer answers with the statuses in turn (the last one for ever)
// and checks every request's signature.
func webhookServer(t *testing.T, secret string, statuses ...int) (*httptest.Server, *atomic.Int64, chan []byte) {
	var calls atomic.Int64
	bodies := make(chan []byte, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if err := insights.Verify([]byte(secret), r.Header.Get(insights.SignatureHeader), r.Header.Get(insights.TimestampHeader),
			body, time.Now(), 5*time.Minute); err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		bodies <- body
		w.WriteHeader(statuses[min(int(n)-1, len(statuses)-1)])
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, bodies
}

func TestWebhookPostsTheSignedInsightAndRetriesFailures(t *testing.T) {
	srv, calls, bodies := webhookServer(t, "s3cret", 503, 429, 200)
	wh, err := insights.NewWebhookNotifier(insights.WebhookOptions{URL: srv.URL, Secret: []byte("s3cret"), Backoff: time.Millisecond})
	require.NoError(t, err)
	in := sampleInsight()
	require.NoError(t, wh.Notify(ctx(t), insights.Notification{Kind: insights.KindInsight, ShopID: shop, Insight: &in}))
	require.Equal(t, int64(3), calls.Load())
	var got struct {
		Kind    string           `json:"kind"`
		ShopID  string           `json:"shop_id"`
		Insight insights.Insight `json:"insight"`
	}
	require.NoError(t, json.Unmarshal(<-bodies, &got))
	require.Equal(t, "insight", got.Kind)
	require.Equal(t, in.ID, got.Insight.ID)
	require.JSONEq(t, string(in.Evidence), string(got.Insight.Evidence))
	require.Equal(t, in.CreatedAt, got.Insight.CreatedAt)
}

func TestWebhookGivesUpAfterItsBoundAndOnRefusals(t *testing.T) {
	srv, calls, _ := webhookServer(t, "k", 500)
	wh, err := insights.NewWebhookNotifier(insights.WebhookOptions{URL: srv.URL, Secret: []byte("k"), Backoff: time.Millisecond, MaxAttempts: 3})
	require.NoError(t, err)
	in := sampleInsight()
	err = wh.Notify(ctx(t), insights.Notification{Kind: insights.KindInsight, Insight: &in})
	require.ErrorContains(t, err, "gave up")
	require.Equal(t, int64(3), calls.Load())

	srv, calls, _ = webhookServer(t, "k", 400)
	wh, err = insights.NewWebhookNotifier(insights.WebhookOptions{URL: srv.URL, Secret: []byte("k"), Backoff: time.Millisecond})
	require.NoError(t, err)
	require.Error(t, wh.Notify(ctx(t), insights.Notification{Kind: insights.KindInsight, Insight: &in}))
	require.Equal(t, int64(1), calls.Load(), "a 400 is not retried")

	// A wrong secret is refused by the receiver (401), not retried.
	srv, calls, _ = webhookServer(t, "right", 200)
	wh, err = insights.NewWebhookNotifier(insights.WebhookOptions{URL: srv.URL, Secret: []byte("wrong"), Backoff: time.Millisecond})
	require.NoError(t, err)
	require.ErrorContains(t, wh.Notify(ctx(t), insights.Notification{Kind: insights.KindInsight, Insight: &in}), "401")
	require.Equal(t, int64(1), calls.Load())
}

func TestWebhookOptionsAreChecked(t *testing.T) {
	for _, o := range []insights.WebhookOptions{
		{URL: "ftp://x", Secret: []byte("k")},
		{URL: "http://x"},
		{URL: "http://x", Secret: []byte("k"), MaxAttempts: -1},
	} {
		_, err := insights.NewWebhookNotifier(o)
		require.Error(t, err)
	}
}

func TestSignatureIsHMACOfTimestampAndBody(t *testing.T) {
	sig := insights.Sign([]byte("key"), 1700000000, []byte(`{"a":1}`))
	// Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
	require.Equal(t, "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03", sig)
}

func TestVerifyRefusesOldTimestampsAndOtherBodies(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"a":1}`)
	sig := insights.Sign([]byte("key"), now.Unix(), body)
	require.NoError(t, insights.Verify([]byte("key"), sig, "1700000000", body, now, time.Minute))
	require.Error(t, insights.Verify([]byte("key"), sig, "1700000000", body, now.Add(time.Hour), time.Minute))
	require.Error(t, insights.Verify([]byte("key"), sig, "1700000000", []byte(`{"a":2}`), now, time.Minute))
	require.Error(t, insights.Verify([]byte("key"), sig, "soon", body, now, time.Minute))
}

func TestLogNotifierWritesALine(t *testing.T) {
	var b strings.Builder
	l := insights.LogNotifier{Logger: slog.New(slog.NewTextHandler(&b, nil))}
	in := sampleInsight()
	require.NoError(t, l.Notify(context.Background(), insights.Notification{Kind: insights.KindInsight, ShopID: shop, Insight: &in}))
	require.Contains(t, b.String(), "rule=flash_sale")
	require.Contains(t, b.String(), "severity=critical")
	require.Error(t, l.Notify(context.Background(), insights.Notification{Kind: "nothing"}))
}

// A webhook URL often carries its own credential (a token in the path or
// the query, a user in the authority); a failed delivery's error, which
// the scheduler logs, names the endpoint without it.
func TestWebhookErrorsDoNotRepeatTheURLsCredentials(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens: the request itself fails
	wh, err := insights.NewWebhookNotifier(insights.WebhookOptions{URL: strings.Replace(base, "://", "://bot:pa55@", 1) + "/hooks/T0K3N?key=k3y",
		Secret: []byte("s"), MaxAttempts: 1})
	require.NoError(t, err)
	in := sampleInsight()
	err = wh.Notify(ctx(t), insights.Notification{Kind: insights.KindInsight, ShopID: shop, Insight: &in})
	require.Error(t, err)
	for _, secret := range []string{"pa55", "T0K3N", "k3y"} {
		require.NotContains(t, err.Error(), secret)
	}
	require.Contains(t, err.Error(), strings.TrimPrefix(base, "http://"), "the host is still named")
}
