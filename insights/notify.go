package insights

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Notification is what a Notifier delivers: an insight as it is raised,
// or a shop's daily report.
type Notification struct {
	// Kind is "insight" or "daily_report".
	Kind    string   `json:"kind"`
	ShopID  string   `json:"shop_id"`
	Insight *Insight `json:"insight,omitempty"`
	Report  *Report  `json:"report,omitempty"`
}

// Notification kinds.
const (
	KindInsight     = "insight"
	KindDailyReport = "daily_report"
)

// Notifier delivers notifications somewhere people see them. Notify
// returns once delivered or given up on; it is safe for concurrent use.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// LogNotifier writes notifications to a logger, one line each.
type LogNotifier struct {
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Notify implements Notifier.
func (l LogNotifier) Notify(ctx context.Context, n Notification) error {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	switch {
	case n.Insight != nil:
		in := n.Insight
		log.InfoContext(ctx, "insight", "shop", n.ShopID, "rule", in.Rule, "severity", in.Severity, "subject", in.Subject,
			"id", in.ID, "title", in.Title, "message", in.Message)
	case n.Report != nil:
		r := n.Report
		log.InfoContext(ctx, "daily report", "shop", n.ShopID, "date", r.Date, "tz", r.TZ, "events", r.Stats.Events,
			"sessions", r.Stats.Sessions, "purchases", r.Stats.Purchases, "conversion_rate", r.Stats.ConversionRate,
			"insights", len(r.Insights))
	default:
		return fmt.Errorf("insights: log notifier: a notification of kind %q holds nothing", n.Kind)
	}
	return nil
}

// Webhook signature headers. The signature is
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)), where
// timestamp is the TimestampHeader's value (Unix seconds); a receiver
// recomputes it over the raw body and refuses old timestamps, so a
// captured request cannot be replayed later.
const (
	SignatureHeader = "X-Shoplytics-Signature"
	TimestampHeader = "X-Shoplytics-Timestamp"
)

// Sign returns the signature of body sent at timestamp (Unix seconds).
func Sign(secret []byte, timestamp int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strconv.FormatInt(timestamp, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a webhook request's signature and that its timestamp is
// within tolerance of now: what a receiver does.
func Verify(secret []byte, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("insights: webhook: the timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("insights: webhook: the timestamp is too far from now")
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("insights: webhook: the signature does not match")
	}
	return nil
}

// WebhookOptions configure a WebhookNotifier. URL and Secret are
// required; the zero value of every other field is its documented default.
type WebhookOptions struct {
	// URL receives a POST of each notification as JSON.
	URL string
	// Secret signs the requests (SignatureHeader).
	Secret []byte
	// Client sends the requests (default: an http.Client with a 10 s
	// timeout).
	Client *http.Client
	// MaxAttempts bounds the tries of one notification (default 5).
	MaxAttempts int
	// Backoff is the wait before the second try (default 1s); each next
	// wait doubles, up to MaxBackoff (default 1 min), with up to a quarter
	// of jitter.
	Backoff, MaxBackoff time.Duration
	// Now is the clock of the timestamps (default time.Now).
	Now func() time.Time
}

// WebhookNotifier POSTs notifications as JSON, signed, retrying failures
// (network errors, 408, 429 and 5xx answers) with backoff until
// MaxAttempts; any other answer than 2xx is given up at once.
type WebhookNotifier struct {
	o WebhookOptions
}

// NewWebhookNotifier checks the options and returns the notifier.
func NewWebhookNotifier(o WebhookOptions) (*WebhookNotifier, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("insights: webhook: url %q is not an http or https URL", o.URL)
	}
	if len(o.Secret) == 0 {
		return nil, errors.New("insights: webhook: a secret is required to sign the requests")
	}
	if o.MaxAttempts < 0 || o.Backoff < 0 || o.MaxBackoff < 0 {
		return nil, errors.New("insights: webhook: MaxAttempts, Backoff and MaxBackoff must not be negative")
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	o.MaxAttempts = or(o.MaxAttempts, 5)
	o.Backoff = or(o.Backoff, time.Second)
	o.MaxBackoff = or(o.MaxBackoff, time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &WebhookNotifier{o: o}, nil
}

// Notify implements Notifier.
func (w *WebhookNotifier) Notify(ctx context.Context, n Notification) error {
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("insights: webhook: %w", err)
	}
	wait := w.o.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		retry, err := w.send(ctx, body)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt >= w.o.MaxAttempts {
			break
		}
		d := wait + time.Duration(rand.Int64N(int64(wait)/4+1))
		select {
		case <-ctx.Done():
			return fmt.Errorf("insights: webhook: %w (last: %v)", ctx.Err(), last)
		case <-time.After(d):
		}
		wait = min(2*wait, w.o.MaxBackoff)
	}
	return fmt.Errorf("insights: webhook: gave up on %s: %w", n.Kind, last)
}

// send makes one try; retry says whether another may succeed.
func (w *WebhookNotifier) send(ctx context.Context, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	ts := w.o.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "shoplytics-webhook/1")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(w.o.Secret, ts, body))
	resp, err := w.o.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			// The URL's path, query or user may be its credential (a
			// chat service's hook token): the error, which gets logged,
			// names only the endpoint.
			err = &url.Error{Op: ue.Op, URL: endpoint(w.o.URL), Err: ue.Err}
		}
		return ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("answer %s", resp.Status)
	default:
		return false, fmt.Errorf("answer %s", resp.Status)
	}
}

// Notifiers hands every notification to each of its notifiers in turn;
// the errors of those that fail are joined.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, n Notification) error {
	var errs []error
	for _, x := range ns {
		if err := x.Notify(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endpoint is a URL's scheme and host, without what may be secret.
func endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(webhook url)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
