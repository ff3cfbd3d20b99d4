package tracking

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sink takes events; *ingest.Ingester satisfies it, so a Client can feed
// an in-process server without HTTP.
type Sink interface {
	Enqueue(ctx context.Context, events ...Event) error
}

// ClientOptions configure a Client. Set Endpoint (with WriteKey) or Sink;
// every other zero value is a documented default.
type ClientOptions struct {
	// Endpoint is the base URL of a shoplytics handler, as mounted
	// ("https://shop.example/analytics"); events go to Endpoint+"/events".
	Endpoint string
	// WriteKey is the shop's write key, sent as the HTTP Basic user name.
	WriteKey string
	// Sink takes the events instead of an Endpoint.
	Sink Sink
	// ShopID is set on events that name no shop. A Sink needs it (or
	// events that carry their shop); over HTTP the write key names the
	// shop.
	ShopID string

	// HTTPClient sends the requests (default: a client with a 30 s
	// timeout).
	HTTPClient *http.Client
	// BatchSize is the most events one request carries (default 100, at
	// most MaxBatchLen). A batch goes out as soon as it is full.
	BatchSize int
	// MaxBatchBytes caps the JSON of one request before compression
	// (default 512 KiB, half the server's default body limit); a larger
	// batch is sent in parts.
	MaxBatchBytes int
	// FlushInterval is the longest an event waits for its batch to fill
	// (default 5 s).
	FlushInterval time.Duration
	// MaxBuffered bounds the events held, waiting or being sent (default
	// 10,000): memory stays bounded while the server is away, and Track
	// waits for room until its ctx ends.
	MaxBuffered int
	// MinBackoff and MaxBackoff bound the wait between attempts of a
	// batch (defaults 100 ms and 30 s), doubling with jitter; a server's
	// Retry-After is waited out in full (up to 10 minutes).
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts gives a batch up after that many failed attempts
	// (default 0: keep trying until Close's ctx ends, so that a server
	// down for an hour loses nothing; Track blocks once the buffer is
	// full). Only 429, 5xx and network errors are retried: any other
	// answer (400, 401, 403) would be the same again, so the batch is
	// logged, counted in Stats and dropped at once.
	MaxAttempts int
	// DisableGzip sends request bodies uncompressed.
	DisableGzip bool
	// Logger receives what the caller cannot see: batches dropped, events
	// the server rejected (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock events are stamped with and batches aged by
	// (default time.Now).
	Now func() time.Time
}

// Errors of a Client.
var (
	// ErrClientClosed is returned by Track after Close.
	ErrClientClosed = errors.New("tracking: client closed")
	// ErrBufferFull wraps ctx's error when Track gave up waiting for room.
	ErrBufferFull = errors.New("tracking: client buffer full")
)

// ClientStats counts what a Client did with the events tracked.
type ClientStats struct {
	Tracked  uint64 // taken by Track
	Sent     uint64 // accepted by the server or the sink (duplicates included)
	Rejected uint64 // refused by the server as invalid (each is logged)
	Dropped  uint64 // given up with their batch (a 4xx, MaxAttempts, or Close's deadline)
	Retries  uint64 // failed attempts that were retried
	Buffered int    // held now, waiting or being sent
}

// Client sends events to a shoplytics server (or a Sink) from a shop's own
// backend, where ad blockers cannot drop them: purchases, refunds,
// sign-ups. Track buffers; a background goroutine, started by the first
// Track, sends batches by size and age, gzipped, and retries what the
// server could not take now (429, 503, network errors) with exponential
// backoff and jitter, honouring Retry-After. Every event gets its id when
// tracked, so a retried batch is stored once.
//
// A Client is safe for concurrent use. Close it to send what is buffered.
type Client struct {
	opts ClientOptions
	url  string
	auth string

	mu        sync.Mutex
	buf       []Event
	oldest    time.Time // when the first event of buf was tracked
	tracked   uint64    // events ever taken
	finished  uint64    // events sent, rejected or dropped
	flushTo   uint64    // a Flush wants everything up to here sent now
	closing   bool
	progress  chan struct{} // closed and replaced whenever finished moves
	wake      chan struct{}
	started   bool
	stats     ClientStats
	lastError error

	ctx    context.Context // cancelled when Close gives up
	cancel context.CancelFunc
	done   chan struct{} // closed when the loop ends
}

// NewClient checks opts and returns a client. No goroutine starts until
// the first Track.
func NewClient(opts ClientOptions) (*Client, error) {
	if (opts.Endpoint == "") == (opts.Sink == nil) {
		return nil, errors.New("tracking: client: set exactly one of Endpoint and Sink")
	}
	c := &Client{opts: opts, progress: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	if opts.Endpoint != "" {
		if !strings.HasPrefix(opts.Endpoint, "http://") && !strings.HasPrefix(opts.Endpoint, "https://") {
			return nil, fmt.Errorf("tracking: client: Endpoint %q is not an http(s) URL", opts.Endpoint)
		}
		if opts.WriteKey == "" {
			return nil, errors.New("tracking: client: WriteKey is required with Endpoint")
		}
		c.url = strings.TrimRight(opts.Endpoint, "/") + "/events"
		req, _ := http.NewRequest("POST", c.url, nil)
		req.SetBasicAuth(opts.WriteKey, "")
		c.auth = req.Header.Get("Authorization")
	}
	if opts.ShopID != "" {
		if err := CheckShopID(opts.ShopID); err != nil {
			return nil, fmt.Errorf("tracking: client: ShopID: %w", err)
		}
	}
	for name, v := range map[string]int64{"BatchSize": int64(opts.BatchSize), "MaxBatchBytes": int64(opts.MaxBatchBytes),
		"FlushInterval": int64(opts.FlushInterval), "MaxBuffered": int64(opts.MaxBuffered), "MinBackoff": int64(opts.MinBackoff),
		"MaxBackoff": int64(opts.MaxBackoff), "MaxAttempts": int64(opts.MaxAttempts)} {
		if v < 0 {
			return nil, fmt.Errorf("tracking: client: %s must not be negative", name)
		}
	}
	o := &c.opts
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.BatchSize == 0 {
		o.BatchSize = 100
	}
	if o.BatchSize > MaxBatchLen {
		return nil, fmt.Errorf("tracking: client: BatchSize %d is over MaxBatchLen (%d)", o.BatchSize, MaxBatchLen)
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = 512 << 10
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 5 * time.Second
	}
	if o.MaxBuffered == 0 {
		o.MaxBuffered = 10000
	}
	if o.MaxBuffered < o.BatchSize {
		return nil, fmt.Errorf("tracking: client: MaxBuffered %d is below BatchSize %d", o.MaxBuffered, o.BatchSize)
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		return nil, fmt.Errorf("tracking: client: MaxBackoff %v is below MinBackoff %v", o.MaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c, nil
}

// placeholderShop stands in for the shop a write key names while an event
// is validated on the client: the server sets the real one.
const placeholderShop = "_"

// Track normalises and validates e (an id, a timestamp of now, canonical
// names: see Normalize) and buffers it for sending. It returns a
// *ValidationError for an invalid event, ErrClientClosed after Close, and
// an error wrapping ErrBufferFull and ctx's error when the buffer stayed
// full until ctx ended.
func (c *Client) Track(ctx context.Context, e Event) error {
	shop := e.ShopID
	if shop == "" {
		shop = c.opts.ShopID
	}
	placeholder := shop == "" && c.opts.Sink == nil
	if placeholder {
		shop = placeholderShop
	}
	e.ShopID = shop
	if err := Normalize(&e, time.Time{}, NormalizeOptions{Now: c.opts.Now()}); err != nil {
		return err
	}
	if placeholder {
		e.ShopID = ""
	}
	e.ReceivedAt = time.Time{} // the receiving side's to set
	c.mu.Lock()
	for {
		if c.closing {
			c.mu.Unlock()
			return ErrClientClosed
		}
		if len(c.buf)+c.inFlightLocked() < c.opts.MaxBuffered {
			break
		}
		progress := c.progress
		c.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrBufferFull, ctx.Err())
		}
		c.mu.Lock()
	}
	if len(c.buf) == 0 {
		c.oldest = c.opts.Now()
	}
	c.buf = append(c.buf, e)
	c.tracked++
	c.stats.Tracked++
	wake := len(c.buf) >= c.opts.BatchSize || len(c.buf) == 1
	if !c.started {
		c.started = true
		go c.loop()
	}
	c.mu.Unlock()
	if wake {
		c.nudge()
	}
	return nil
}

// inFlightLocked is the number of events taken from buf and not finished.
func (c *Client) inFlightLocked() int {
	return int(c.tracked-c.finished) - len(c.buf)
}

func (c *Client) nudge() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Flush sends every event tracked before the call, and returns when they
// are sent or given up, or when ctx ends. Events given up make it return
// an error.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.tracked
	dropped := c.stats.Dropped + c.stats.Rejected
	if target > c.flushTo {
		c.flushTo = target
	}
	c.mu.Unlock()
	c.nudge()
	return c.wait(ctx, target, dropped)
}

func (c *Client) wait(ctx context.Context, target, dropped uint64) error {
	c.mu.Lock()
	for c.finished < target {
		progress := c.progress
		c.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("tracking: client: flush: %w", ctx.Err())
		}
		c.mu.Lock()
	}
	defer c.mu.Unlock()
	if n := c.stats.Dropped + c.stats.Rejected - dropped; n > 0 {
		return fmt.Errorf("tracking: client: %d events were not stored: %w", n, c.lastError)
	}
	return nil
}

// Close stops taking events, sends everything buffered and stops the
// background goroutine, like http.Server.Shutdown. If ctx ends first, the
// attempt under way is abandoned, what was not sent is dropped (counted in
// Stats) and ctx's error returned.
func (c *Client) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closing = true
	c.flushTo = c.tracked
	target := c.tracked
	dropped := c.stats.Dropped + c.stats.Rejected
	if !c.started {
		c.started = true
		go c.loop()
	}
	c.mu.Unlock()
	c.nudge()
	select {
	case <-c.done:
	case <-ctx.Done():
		c.cancel()
		<-c.done
		return fmt.Errorf("tracking: client: close: %w", ctx.Err())
	}
	c.cancel()
	return c.wait(context.Background(), target, dropped)
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Buffered = int(c.tracked - c.finished)
	return s
}

// loop sends batches until the client is closed and empty.
func (c *Client) loop() {
	defer close(c.done)
	for {
		c.mu.Lock()
		n := len(c.buf)
		if n == 0 && c.closing {
			c.mu.Unlock()
			return
		}
		if c.ctx.Err() != nil {
			// Close gave up: what is left is dropped.
			c.finishLocked(0, 0, n, fmt.Errorf("tracking: client: closed before they were sent: %w", context.Cause(c.ctx)))
			c.buf = nil
			c.mu.Unlock()
			return
		}
		age := c.opts.Now().Sub(c.oldest)
		due := n >= c.opts.BatchSize || n > 0 && (c.closing || c.flushTo > c.finished || age >= c.opts.FlushInterval)
		if !due {
			var timer *time.Timer
			var fire <-chan time.Time
			if n > 0 {
				timer = time.NewTimer(c.opts.FlushInterval - age)
				fire = timer.C
			}
			c.mu.Unlock()
			select {
			case <-c.wake:
			case <-fire:
			case <-c.ctx.Done():
			}
			if timer != nil {
				timer.Stop()
			}
			continue
		}
		k := min(n, c.opts.BatchSize)
		batch := make([]Event, k)
		copy(batch, c.buf)
		// The rest keeps the batch's age: it goes out at once if due.
		c.buf = append(c.buf[:0], c.buf[k:]...)
		c.mu.Unlock()

		sent, rejected, dropped, err := c.deliver(batch)
		c.mu.Lock()
		c.finishLocked(sent, rejected, dropped, err)
		c.mu.Unlock()
	}
}

// finishLocked counts events done and wakes whoever waits on progress.
func (c *Client) finishLocked(sent, rejected, dropped int, err error) {
	c.finished += uint64(sent + rejected + dropped)
	c.stats.Sent += uint64(sent)
	c.stats.Rejected += uint64(rejected)
	c.stats.Dropped += uint64(dropped)
	if err != nil && rejected+dropped > 0 {
		c.lastError = err
	}
	close(c.progress)
	c.progress = make(chan struct{})
}

// deliver sends a batch with retries: to the sink, or over HTTP in parts
// of at most MaxBatchBytes.
func (c *Client) deliver(batch []Event) (sent, rejected, dropped int, err error) {
	if c.opts.Sink != nil {
		err := c.retry(func(ctx context.Context) (time.Duration, error, bool) {
			err := c.opts.Sink.Enqueue(ctx, batch...)
			var ve *ValidationError
			if err != nil && errors.As(err, &ve) {
				return 0, err, false
			}
			return 0, err, err != nil
		})
		if err != nil {
			c.opts.Logger.Warn("tracking: client: batch dropped", "events", len(batch), "error", err.Error())
			return 0, 0, len(batch), err
		}
		return len(batch), 0, 0, nil
	}
	for len(batch) > 0 {
		n := c.fit(batch)
		s, r, d, e := c.sendPart(batch[:n])
		batch = batch[n:]
		sent, rejected, dropped = sent+s, rejected+r, dropped+d
		if e != nil {
			err = e
		}
	}
	return sent, rejected, dropped, err
}

// sendPart posts events as one request; a 413 (the server's body limit is
// lower than MaxBatchBytes) sends it again in halves.
func (c *Client) sendPart(events []Event) (sent, rejected, dropped int, err error) {
	s, r, d, status, err := c.post(encodeBatch(events), len(events))
	if status == http.StatusRequestEntityTooLarge && len(events) > 1 {
		h := len(events) / 2
		s1, r1, d1, e1 := c.sendPart(events[:h])
		s2, r2, d2, e2 := c.sendPart(events[h:])
		return s1 + s2, r1 + r2, d1 + d2, errors.Join(e1, e2)
	}
	return s, r, d, err
}

// fit returns how many events of batch, at least one, fit in one request
// of MaxBatchBytes.
func (c *Client) fit(batch []Event) int {
	size := len(`{"sent_at":"2006-01-02T15:04:05.999999999Z","batch":[]}`)
	var b []byte
	for i := range batch {
		b = batch[i].AppendJSON(b[:0])
		size += len(b) + 1
		if i > 0 && size > c.opts.MaxBatchBytes {
			return i
		}
	}
	return len(batch)
}

// encodeBatch is the body of a request without its sent_at:
// {"batch":[…]}.
func encodeBatch(events []Event) []byte {
	b := make([]byte, 0, 512*len(events))
	b = append(b, `{"batch":[`...)
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = events[i].AppendJSON(b)
	}
	return append(b, ']', '}')
}

// ingestReply is what POST /events answers.
type ingestReply struct {
	Accepted      int    `json:"accepted"`
	Duplicates    int    `json:"duplicates"`
	RejectedCount int    `json:"rejected_count"`
	Error         string `json:"error"`
	Rejected      []struct {
		Index int    `json:"index"`
		Error string `json:"error"`
	} `json:"rejected"`
}

// post sends one request body of n events, with retries, and returns the
// last answer's status.
func (c *Client) post(body []byte, n int) (sent, rejected, dropped, status int, err error) {
	var reply ingestReply
	err = c.retry(func(ctx context.Context) (time.Duration, error, bool) {
		// sent_at is the time of this attempt, so the server corrects
		// the client's clock skew (Segment's rule).
		withSent := make([]byte, 0, len(body)+64)
		withSent = append(withSent, `{"sent_at":"`...)
		withSent = c.opts.Now().UTC().AppendFormat(withSent, time.RFC3339Nano)
		withSent = append(withSent, `",`...)
		withSent = append(withSent, body[1:]...)
		wait, e, retry, st := c.attempt(ctx, withSent, &reply)
		status = st
		return wait, e, retry
	})
	switch {
	case err == nil:
		// rejected_count counts them all (the list may be cut short); a
		// server that answers only the list has its entries counted.
		rejected = min(max(reply.RejectedCount, len(reply.Rejected)), n)
		if rejected > 0 {
			first := ""
			if len(reply.Rejected) > 0 {
				first = reply.Rejected[0].Error
			}
			c.opts.Logger.Warn("tracking: client: events rejected by the server", "rejected", rejected, "events", n, "first_error", first)
			err = fmt.Errorf("tracking: client: %d events rejected: %s", rejected, first)
		}
		return n - rejected, rejected, 0, status, err
	case status == http.StatusBadRequest:
		// Nothing in the body was valid: every event is rejected.
		c.opts.Logger.Warn("tracking: client: events rejected by the server", "rejected", n, "error", err.Error())
		return 0, n, 0, status, err
	case status == http.StatusRequestEntityTooLarge && n > 1:
		return 0, 0, 0, status, err // split by sendPart
	default:
		c.opts.Logger.Warn("tracking: client: batch dropped", "events", n, "error", err.Error())
		return 0, 0, n, status, err
	}
}

// attempt makes one request. It returns the server's Retry-After, the
// error, whether retrying may help, and the status (0 without an answer).
func (c *Client) attempt(ctx context.Context, body []byte, reply *ingestReply) (time.Duration, error, bool, int) {
	var rd io.Reader = bytes.NewReader(body)
	if !c.opts.DisableGzip {
		var zb bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&zb)
		_, _ = zw.Write(body)
		_ = zw.Close()
		gzipWriters.Put(zw)
		rd = &zb
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.url, rd)
	if err != nil {
		return 0, fmt.Errorf("tracking: client: %w", err), false, 0
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Content-Type", "application/json")
	if !c.opts.DisableGzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("tracking: client: send: %w", err), ctx.Err() == nil, 0
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("tracking: client: read answer: %w", err), true, resp.StatusCode
	}
	*reply = ingestReply{}
	_ = json.Unmarshal(raw, reply)
	switch code := resp.StatusCode; {
	case code/100 == 2:
		return 0, nil, false, code
	case code == http.StatusTooManyRequests || code/100 == 5:
		return retryAfter(resp.Header.Get("Retry-After"), c.opts.Now()),
			fmt.Errorf("tracking: client: server answered %s: %s", resp.Status, reply.Error), true, code
	default:
		return 0, fmt.Errorf("tracking: client: server answered %s: %s", resp.Status, reply.Error), false, code
	}
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// maxRetryAfter caps a server's Retry-After, so that a wrong header does
// not stall the client for days.
const maxRetryAfter = 10 * time.Minute

// retryAfter parses Retry-After: seconds (possibly fractional) or an HTTP
// date; 0 when absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, maxRetryAfter))
}

// retry runs fn until it succeeds, fails for good, MaxAttempts is reached
// or the client's context ends, sleeping between attempts the larger of
// the backoff (doubling from MinBackoff to MaxBackoff, with jitter) and
// what fn asked for.
func (c *Client) retry(fn func(ctx context.Context) (wait time.Duration, err error, retry bool)) error {
	backoff := c.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		wait, err, again := fn(c.ctx)
		if err == nil || !again {
			return err
		}
		if c.opts.MaxAttempts > 0 && attempt >= c.opts.MaxAttempts {
			return fmt.Errorf("tracking: client: gave up after %d attempts: %w", attempt, err)
		}
		c.mu.Lock()
		c.stats.Retries++
		c.mu.Unlock()
		// Full jitter over the upper half, so clients that failed together
		// do not come back together.
		sleep := backoff/2 + rand.N(backoff/2+1)
		sleep = max(sleep, wait)
		backoff = min(2*backoff, c.opts.MaxBackoff)
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return fmt.Errorf("tracking: client: %w (last error: %w)", c.ctx.Err(), err)
		}
	}
}
