package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Sink takes the events of a sync; *ingest.Ingester satisfies it. Flush
// must return once everything enqueued before it is stored: the sync saves
// its checkpoint only then.
type Sink interface {
	Enqueue(ctx context.Context, events ...tracking.Event) error
	Flush(ctx context.Context) error
}

// Defaults of SyncOptions.
const (
	DefaultAPIVersion     = "2025-01"
	DefaultCheckpointName = "shopify-sync"
	// DefaultCallInterval is how fast Shopify's REST bucket leaks on the
	// standard plans: two calls a second.
	DefaultCallInterval = 500 * time.Millisecond
)

// SyncOptions configure Sync. ShopID, AccessToken and Domain (or BaseURL)
// are required; every other zero value is a documented default.
type SyncOptions struct {
	// ShopID is the shoplytics shop the events are for.
	ShopID string
	// Domain is the shop's myshopify.com domain ("example.myshopify.com").
	Domain string
	// AccessToken is an Admin API access token with read_orders (and
	// read_all_orders for orders older than 60 days), sent as
	// X-Shopify-Access-Token.
	AccessToken string
	// APIVersion is the Admin API version (default DefaultAPIVersion).
	APIVersion string
	// BaseURL replaces "https://"+Domain (tests, proxies).
	BaseURL string
	// HTTPClient makes the requests (default: a 60 s timeout).
	HTTPClient *http.Client
	// PageSize is the orders per page (default and most 250).
	PageSize int

	// Checkpoints keeps the cursor (default: none, a sync that stops
	// starts over). Pass the store the sink writes to when it is a
	// store.CheckpointKeeper.
	Checkpoints store.CheckpointKeeper
	// CheckpointName names the checkpoint within the shop (default
	// DefaultCheckpointName).
	CheckpointName string
	// Full syncs every order even when an earlier sync completed; by
	// default a sync after a complete one reads only the orders updated
	// since that one started (updated_at_min, with a five-minute margin).
	Full bool

	// CallInterval is how long Shopify takes to leak one call from the
	// bucket (default DefaultCallInterval; 250 ms on Shopify Plus).
	CallInterval time.Duration
	// Headroom is how many calls the sync leaves free in the bucket that
	// X-Shopify-Shop-Api-Call-Limit reports (default a quarter of it),
	// for the shop's other apps: it waits for the bucket to leak before a
	// request that would leave less.
	Headroom int
	// MaxAttempts bounds the attempts of one request that keeps failing
	// (dropped connections, 5xx; default 10). A 429 is waited out for its
	// Retry-After and does not count.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts (defaults
	// 500 ms and 30 s), doubling with jitter.
	MinBackoff, MaxBackoff time.Duration

	// Progress, when set, is called after each page.
	Progress func(Progress)
	// Logger receives orders that could not be mapped and retries
	// (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock of the progress figures (default time.Now).
	Now func() time.Time
}

// Progress is how far a sync is.
type Progress struct {
	ShopID string
	// Orders is the orders read in this pass, those of a run that was
	// resumed included; Total is how many the pass has (-1 unknown).
	Orders, Total int
	// Events is the events handed to the sink by this run.
	Events int
	// Rate is this run's orders per second; ETA the time left at that
	// rate (-1 unknown).
	Rate    float64
	ETA     time.Duration
	Elapsed time.Duration
	Done    bool
}

// String is the progress line: "shopify sync shop-a: 1250/5000 orders
// (25.0%), 48.1 orders/s, ETA 1m18s".
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shopify sync %s: %d", p.ShopID, p.Orders)
	if p.Total >= 0 {
		pct := 100.0
		if p.Total > 0 {
			pct = 100 * float64(p.Orders) / float64(p.Total)
		}
		fmt.Fprintf(&b, "/%d orders (%.1f%%)", p.Total, pct)
	} else {
		b.WriteString(" orders")
	}
	fmt.Fprintf(&b, ", %.1f orders/s", p.Rate)
	switch {
	case p.Done:
		fmt.Fprintf(&b, ", done in %s", p.Elapsed.Round(time.Second))
	case p.ETA >= 0:
		fmt.Fprintf(&b, ", ETA %s", p.ETA.Round(time.Second))
	}
	return b.String()
}

// Result is what a sync did.
type Result struct {
	Orders  int  // orders read by this run
	Events  int  // events handed to the sink
	Skipped int  // orders and refunds that map to no valid event (logged)
	Pages   int  // pages read by this run
	Resumed bool // the run went on from a checkpoint
	// Throttled counts 429 answers, Retries failed attempts retried.
	Throttled, Retries int
}

// checkpoint is what a sync saves after each page.
type checkpoint struct {
	// PageInfo is the cursor of the next page; "" is the first.
	PageInfo string `json:"page_info,omitempty"`
	// Since is the pass's updated_at_min ("" for every order).
	Since string `json:"since,omitempty"`
	// StartedAt is when the pass began.
	StartedAt time.Time `json:"started_at"`
	// Orders were read in the pass so far.
	Orders   int  `json:"orders"`
	Complete bool `json:"complete"`
}

// Sync reads the shop's orders from the Admin API (status=any, page by
// page with page_info cursors from the Link header) and enqueues, for each
// order, its purchase_completed and its refunds' order_refunded events, by
// the same mapping as the webhooks, so that orders the webhooks brought
// already are duplicates the store drops. After each page it flushes the
// sink and saves its cursor in opts.Checkpoints; a sync that stopped
// (crash, ctx) resumes at the page it was on.
//
// It keeps under the Admin API's leaky bucket (see SyncOptions.Headroom),
// waits out 429 answers for their Retry-After, and retries dropped
// connections and 5xx answers with backoff, up to MaxAttempts.
func Sync(ctx context.Context, sink Sink, opts SyncOptions) (Result, error) {
	s, err := newSyncer(sink, opts)
	if err != nil {
		return Result{}, err
	}
	return s.run(ctx)
}

type syncer struct {
	o    SyncOptions
	sink Sink
	base string // scheme://host/admin/api/<version>
	res  Result
	// wait is what the bucket asks before the next request.
	wait time.Duration
}

func newSyncer(sink Sink, o SyncOptions) (*syncer, error) {
	if sink == nil {
		return nil, errors.New("shopify: sync: a sink is required")
	}
	if err := tracking.CheckShopID(o.ShopID); err != nil {
		return nil, fmt.Errorf("shopify: sync: ShopID: %w", err)
	}
	if o.AccessToken == "" {
		return nil, errors.New("shopify: sync: AccessToken is required")
	}
	if o.BaseURL == "" {
		if o.Domain == "" {
			return nil, errors.New("shopify: sync: Domain (or BaseURL) is required")
		}
		o.BaseURL = "https://" + o.Domain
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("shopify: sync: BaseURL %q is not an http(s) URL", o.BaseURL)
	}
	for name, v := range map[string]int64{"PageSize": int64(o.PageSize), "CallInterval": int64(o.CallInterval), "Headroom": int64(o.Headroom),
		"MaxAttempts": int64(o.MaxAttempts), "MinBackoff": int64(o.MinBackoff), "MaxBackoff": int64(o.MaxBackoff)} {
		if v < 0 {
			return nil, fmt.Errorf("shopify: sync: %s must not be negative", name)
		}
	}
	if o.APIVersion == "" {
		o.APIVersion = DefaultAPIVersion
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	switch {
	case o.PageSize == 0:
		o.PageSize = 250
	case o.PageSize > 250:
		return nil, fmt.Errorf("shopify: sync: PageSize %d is over Shopify's 250", o.PageSize)
	}
	if o.CheckpointName == "" {
		o.CheckpointName = DefaultCheckpointName
	}
	if o.CallInterval == 0 {
		o.CallInterval = DefaultCallInterval
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 10
	}
	if o.MinBackoff == 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		return nil, fmt.Errorf("shopify: sync: MaxBackoff %v is below MinBackoff %v", o.MaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &syncer{o: o, sink: sink, base: strings.TrimRight(o.BaseURL, "/") + "/admin/api/" + o.APIVersion}, nil
}

func (s *syncer) run(ctx context.Context) (Result, error) {
	start := s.o.Now()
	cp, err := s.loadCheckpoint(ctx)
	if err != nil {
		return s.res, err
	}
	switch {
	case cp == nil || cp.Complete && s.o.Full:
		cp = &checkpoint{StartedAt: start.UTC()}
	case cp.Complete:
		// An earlier pass read everything up to when it started: read
		// what changed since, with a margin for clocks.
		cp = &checkpoint{StartedAt: start.UTC(), Since: cp.StartedAt.Add(-5 * time.Minute).Format(time.RFC3339)}
	default:
		s.res.Resumed = true
	}
	total := s.count(ctx, cp.Since)
	first := cp.Orders
	for {
		next, orders, err := s.page(ctx, cp)
		if err != nil {
			return s.res, err
		}
		cp.Orders += orders
		cp.PageInfo = next
		cp.Complete = next == ""
		if err := s.saveCheckpoint(ctx, cp); err != nil {
			return s.res, err
		}
		if s.o.Progress != nil {
			s.o.Progress(s.progress(start, first, cp, total))
		}
		if cp.Complete {
			return s.res, nil
		}
	}
}

func (s *syncer) progress(start time.Time, first int, cp *checkpoint, total int) Progress {
	p := Progress{ShopID: s.o.ShopID, Orders: cp.Orders, Total: total, Events: s.res.Events, ETA: -1,
		Elapsed: s.o.Now().Sub(start), Done: cp.Complete}
	if p.Elapsed > 0 {
		p.Rate = float64(cp.Orders-first) / p.Elapsed.Seconds()
	}
	if total >= 0 && p.Rate > 0 {
		p.ETA = time.Duration(float64(max(0, total-cp.Orders)) / p.Rate * float64(time.Second))
	}
	return p
}

func (s *syncer) loadCheckpoint(ctx context.Context) (*checkpoint, error) {
	if s.o.Checkpoints == nil {
		return nil, nil
	}
	raw, ok, err := s.o.Checkpoints.LoadCheckpoint(ctx, s.o.ShopID, s.o.CheckpointName)
	if err != nil {
		return nil, fmt.Errorf("shopify: sync: %w", err)
	}
	if !ok {
		return nil, nil
	}
	var cp checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		// Not ours, or from a build that wrote another form: start over,
		// which costs time, not correctness.
		s.o.Logger.Warn("shopify: sync: unreadable checkpoint, starting over", "shop", s.o.ShopID, "error", err.Error())
		return nil, nil
	}
	return &cp, nil
}

func (s *syncer) saveCheckpoint(ctx context.Context, cp *checkpoint) error {
	if s.o.Checkpoints == nil {
		return nil
	}
	b, _ := json.Marshal(cp)
	if err := s.o.Checkpoints.SaveCheckpoint(ctx, s.o.ShopID, s.o.CheckpointName, b); err != nil {
		return fmt.Errorf("shopify: sync: %w", err)
	}
	return nil
}

// count asks orders/count.json how many orders the pass has; -1 when it
// cannot tell (the progress line then has no ETA).
func (s *syncer) count(ctx context.Context, since string) int {
	q := url.Values{"status": {"any"}}
	if since != "" {
		q.Set("updated_at_min", since)
	}
	body, _, err := s.get(ctx, s.base+"/orders/count.json?"+q.Encode())
	if err != nil {
		if ctx.Err() == nil {
			s.o.Logger.Warn("shopify: sync: cannot count orders", "shop", s.o.ShopID, "error", err.Error())
		}
		return -1
	}
	var c struct {
		Count *int `json:"count"`
	}
	if json.Unmarshal(body, &c) != nil || c.Count == nil {
		return -1
	}
	return *c.Count
}

// page reads the page cp points at, hands its events to the sink and
// waits until they are stored. It returns the next page's cursor ("" at
// the end) and the number of orders.
func (s *syncer) page(ctx context.Context, cp *checkpoint) (next string, orders int, err error) {
	q := url.Values{"limit": {strconv.Itoa(s.o.PageSize)}}
	if cp.PageInfo != "" {
		// Shopify allows only limit and fields next to page_info: the
		// cursor carries the rest of the query.
		q.Set("page_info", cp.PageInfo)
	} else {
		q.Set("status", "any")
		if cp.Since != "" {
			q.Set("updated_at_min", cp.Since)
		}
	}
	body, hdr, err := s.get(ctx, s.base+"/orders.json?"+q.Encode())
	if err != nil {
		return "", 0, err
	}
	var page struct {
		// Each order is decoded apart, so one the mapping refuses is
		// skipped, as an order that maps to no valid event is, rather
		// than stopping the sync at its page for good.
		Orders []json.RawMessage `json:"orders"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return "", 0, fmt.Errorf("shopify: sync: orders page: %w", err)
	}
	s.res.Pages++
	events := make([]tracking.Event, 0, len(page.Orders))
	now := s.o.Now()
	keep := func(e tracking.Event, err error, what string, id ID) {
		if err == nil {
			err = tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{Now: now, ShopID: s.o.ShopID})
		}
		switch {
		case errors.Is(err, ErrNothingToRecord):
		case err != nil:
			s.res.Skipped++
			s.o.Logger.Warn("shopify: sync: "+what+" skipped: it does not map to a valid event", "shop", s.o.ShopID, "id", string(id), "error", err.Error())
		default:
			events = append(events, e)
		}
	}
	for _, raw := range page.Orders {
		o := &Order{}
		if err := decode(raw, o); err != nil {
			keep(tracking.Event{}, err, "order", o.ID)
			continue
		}
		e, err := OrderEvent(o)
		keep(e, err, "order", o.ID)
		for j := range o.Refunds {
			e, err := RefundEvent(&o.Refunds[j], o)
			keep(e, err, "refund", o.Refunds[j].ID)
		}
	}
	if len(events) > 0 {
		if err := s.sink.Enqueue(ctx, events...); err != nil {
			return "", 0, fmt.Errorf("shopify: sync: enqueue: %w", err)
		}
		if err := s.sink.Flush(ctx); err != nil {
			return "", 0, fmt.Errorf("shopify: sync: flush: %w", err)
		}
	}
	s.res.Orders += len(page.Orders)
	s.res.Events += len(events)
	next, err = nextPageInfo(hdr.Get("Link"))
	return next, len(page.Orders), err
}

// nextPageInfo returns the page_info of the Link header's rel="next" URL,
// "" when there is none.
func nextPageInfo(link string) (string, error) {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(params, `rel="next"`) && !strings.Contains(params, "rel=next") {
			continue
		}
		target = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(target), "<"), ">")
		u, err := url.Parse(target)
		if err != nil {
			return "", fmt.Errorf("shopify: sync: Link header: %w", err)
		}
		if pi := u.Query().Get("page_info"); pi != "" {
			return pi, nil
		}
		return "", fmt.Errorf("shopify: sync: Link header: next page %q has no page_info", target)
	}
	return "", nil
}

// errTransient marks a failure worth another attempt.
var errTransient = errors.New("transient")

// get makes a GET within the bucket, waiting out 429s and retrying
// transient failures.
func (s *syncer) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	backoff := s.o.MinBackoff
	for attempt := 1; ; {
		if err := sleep(ctx, s.wait); err != nil {
			return nil, nil, err
		}
		s.wait = 0
		body, hdr, retryIn, err := s.attempt(ctx, u)
		if err == nil {
			return body, hdr, nil
		}
		if !errors.Is(err, errTransient) || ctx.Err() != nil {
			return nil, nil, err
		}
		if retryIn >= 0 {
			// 429: Shopify said when; it is no failure of ours.
			s.res.Throttled++
			s.wait = retryIn
			continue
		}
		if attempt >= s.o.MaxAttempts {
			return nil, nil, fmt.Errorf("shopify: sync: gave up after %d attempts: %w", attempt, err)
		}
		attempt++
		s.res.Retries++
		s.o.Logger.Info("shopify: sync: retrying", "shop", s.o.ShopID, "attempt", attempt, "error", err.Error())
		s.wait = backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, s.o.MaxBackoff)
	}
}

// attempt makes one request. retryIn is the Retry-After of a 429 (-1
// otherwise); a transient error wraps errTransient.
func (s *syncer) attempt(ctx context.Context, u string) (body []byte, hdr http.Header, retryIn time.Duration, err error) {
	retryIn = -1
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: %w", err)
	}
	req.Header.Set("X-Shopify-Access-Token", s.o.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := s.o.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: GET %s: %w: %w", redactURL(u), errTransient, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: GET %s: reading: %w: %w", redactURL(u), errTransient, err)
	}
	s.pace(resp.Header.Get("X-Shopify-Shop-Api-Call-Limit"))
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return body, resp.Header, retryIn, nil
	case code == http.StatusTooManyRequests:
		retryIn = parseRetryAfter(resp.Header.Get("Retry-After"), s.o.CallInterval)
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: GET %s: 429: %w", redactURL(u), errTransient)
	case code >= 500:
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: GET %s: %s: %w", redactURL(u), resp.Status, errTransient)
	default:
		return nil, nil, retryIn, fmt.Errorf("shopify: sync: GET %s: %s: %.200s", redactURL(u), resp.Status, body)
	}
}

// pace reads X-Shopify-Shop-Api-Call-Limit ("32/40": calls in the bucket
// and its size) and sets how long to wait before the next call so that
// Headroom calls stay free: the bucket leaks one call per CallInterval.
func (s *syncer) pace(limit string) {
	usedText, sizeText, ok := strings.Cut(strings.TrimSpace(limit), "/")
	if !ok {
		return
	}
	used, err1 := strconv.Atoi(usedText)
	size, err2 := strconv.Atoi(sizeText)
	if err1 != nil || err2 != nil || size <= 0 {
		return
	}
	headroom := s.o.Headroom
	if headroom == 0 {
		headroom = max(1, size/4)
	}
	headroom = min(headroom, size-1)
	// After the next call the bucket holds used+1: leak until that
	// leaves headroom free.
	if over := used + 1 - (size - headroom); over > 0 {
		s.wait = max(s.wait, time.Duration(over)*s.o.CallInterval)
	}
}

// parseRetryAfter reads Shopify's Retry-After ("2.0" seconds); without
// one, a call's leak time.
func parseRetryAfter(h string, fallback time.Duration) time.Duration {
	if secs, err := strconv.ParseFloat(strings.TrimSpace(h), 64); err == nil && secs >= 0 {
		return min(time.Duration(secs*float64(time.Second)), 10*time.Minute)
	}
	return fallback
}

// redactURL drops the query (it holds no secret, but cursors are long).
func redactURL(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
