package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Config configures the handler. Store and Ingester are required; every
// other zero value is a documented default.
type Config struct {
	// Store is read by the read API and pinged by /health.
	Store store.Store
	// Ingester takes accepted events. The caller starts it and shuts it
	// down (after the HTTP server), so no accepted event is lost.
	Ingester *ingest.Ingester

	// Durable makes POST /events answer only once its events are committed
	// in the store (ingest.Ingester.Store, group commit), with exact
	// duplicates, instead of once they are queued (or spooled). It costs
	// latency, not much throughput under concurrency.
	Durable bool

	// Shops and their keys.
	Shops []Shop
	// AdminKey is a read key for every shop (reads must then name the shop).
	AdminKey string
	// Authorize, when set, replaces key checking for apps with their own
	// authentication. It returns who the request acts as, or an error
	// wrapping ErrUnauthorized (401) or ErrForbidden (403).
	Authorize func(r *http.Request, access Access) (Principal, error)

	// MaxBodyBytes caps an ingestion body, after gzip decompression
	// (default 1 MiB); larger bodies get 413, as do bodies of more than
	// tracking.MaxBatchLen events.
	MaxBodyBytes int64
	// MaxDecodingBytes bounds the memory that ingestion bodies being read
	// and decoded hold at once, across all requests (default 64 MiB, or
	// room for two bodies of MaxBodyBytes at their worst if that is more).
	// Decoding allocates several times a body's size, and a body's write
	// key may be inside it, so without a bound a crowd of large bodies,
	// even without a key, could take all the memory there is. A request
	// is charged before a byte of its body is read and as the body grows,
	// then for decoding it (a measured multiple of its size, more for
	// arrays of many small elements) and for its events, and gives it all
	// back once answered; one that does not fit is answered 503 with
	// Retry-After at once, without reading more. It must hold at least one
	// body of MaxBodyBytes at its worst, so that no body is refused for
	// ever; negative is an error.
	MaxDecodingBytes int64
	// MaxRejections caps the rejected events an ingestion answer lists
	// (default 100): "rejected" holds the first of them by index, and
	// "rejected_count" counts them all, so a body of 10,000 invalid events
	// gets a short answer.
	MaxRejections int
	// AllowedOrigins are the origins browsers may send events from; the
	// default (empty) allows every origin, as a public tracker needs.
	AllowedOrigins []string
	// MaxRange caps the time range of a read (default 400 days).
	MaxRange time.Duration
	// LiveHeartbeat is how often a live stream (GET /api/live) sends a
	// comment line when no event comes (default 15s), so that proxies keep
	// the connection and clients see it is alive.
	LiveHeartbeat time.Duration
	// LiveBufferBytes bounds the events a live stream's client may fall
	// behind by, in encoded bytes (default 1 MiB); a client further behind
	// is dropped, so that it never holds memory or the ingester. A stored
	// batch reaches a stream at once; one larger than this is taken when
	// the client has nothing pending, so a stream holds at most this plus
	// one batch.
	LiveBufferBytes int64
	// LiveWriteTimeout bounds each write to a live stream's client (default
	// 10s); a client that reads nothing for that long is cut off.
	LiveWriteTimeout time.Duration
	// MaxLiveStreams caps the live streams open at once (default 256);
	// more are answered 503 with Retry-After. With LiveBufferBytes it
	// bounds the memory the live feed may hold.
	MaxLiveStreams int
	// MaxLiveStreamsPerShop caps the live streams one shop may hold open
	// (default a quarter of MaxLiveStreams, at least 1), so that one
	// shop's many dashboards cannot take every stream from the others;
	// more are answered 503 with Retry-After.
	MaxLiveStreamsPerShop int
	// RetryAfter is what an overloaded answer asks clients to wait
	// (default 1s).
	RetryAfter time.Duration
	// Insights evaluates the insight rules for POST /api/insights/run and
	// lists kept insights for GET /api/insights (and the daily report's).
	// Nil: those two routes answer 501 saying so, and daily reports list
	// the insights the store keeps (store.InsightKeeper), if any.
	Insights *insights.Engine

	// Logger receives errors the client cannot see (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// budget is the one MaxDecodingBytes sizes, made by setDefaults and
	// shared by every request of the handler.
	budget *budget
}

// Shop is a tenant and its keys.
type Shop struct {
	ID string `json:"id"`
	// WriteKey is public: it ships in web pages and may only send events.
	WriteKey string `json:"write_key"`
	// ReadKey is secret and reads this shop's data only.
	ReadKey string `json:"read_key"`
	// ShopifySecret checks Shopify webhook signatures: the shop's webhook
	// signing secret, or the app's client secret for webhooks an app
	// registered. Without it the shop's webhooks are refused (401).
	ShopifySecret string `json:"shopify_secret,omitempty"`
	// ShopifyPreviousSecret is also accepted while a secret is rotated:
	// set the new secret as ShopifySecret and the old one here, and remove
	// it once Shopify signs with the new one only.
	ShopifyPreviousSecret string `json:"shopify_previous_secret,omitempty"`
	// ShopifyDomain, such as example.myshopify.com, names the shop in
	// webhooks that carry no ?shop= parameter.
	ShopifyDomain string `json:"shopify_domain,omitempty"`
	// Timezone is the shop's IANA zone (default UTC): the default tz of its
	// reads and the day of its daily report.
	Timezone string `json:"timezone,omitempty"`
}

// Validate checks a shop as New will: its id follows the rule of event
// shop ids, its time zone is known, its Shopify domain is a host name and
// a previous Shopify secret comes with a current one. The error names the
// field (id, timezone, shopify_domain, shopify_previous_secret), so a
// configuration file is refused at start-up, not every event for the shop
// later.
func (s Shop) Validate() error {
	if err := tracking.CheckShopID(s.ID); err != nil {
		var ve *tracking.ValidationError
		if errors.As(err, &ve) {
			return fmt.Errorf("id: %q %s", s.ID, ve.Reason)
		}
		return err
	}
	if s.ShopifyDomain != "" && !validHost(s.ShopifyDomain) {
		return fmt.Errorf("shopify_domain: %q is not a host name such as example.myshopify.com", s.ShopifyDomain)
	}
	if s.ShopifyPreviousSecret != "" && s.ShopifySecret == "" {
		return errors.New("shopify_previous_secret: set without shopify_secret (the current secret)")
	}
	if s.ShopifyPreviousSecret != "" && s.ShopifyPreviousSecret == s.ShopifySecret {
		return errors.New("shopify_previous_secret: the same as shopify_secret")
	}
	if _, err := loadZone(s.Timezone); err != nil {
		return fmt.Errorf("timezone: %w", err)
	}
	return nil
}

// validHost reports whether h is a DNS host name: dot-separated labels of
// letters, digits and hyphens, as X-Shopify-Shop-Domain carries it (no
// scheme, port or path).
func validHost(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// loadZone loads an IANA zone; empty is UTC. "Local" is refused: a
// server's own zone is no shop's.
func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// Access is what a request wants to do.
type Access int

const (
	// AccessWrite sends events.
	AccessWrite Access = iota + 1
	// AccessRead reads analytics and raw events.
	AccessRead
)

// Principal is who a request acts as: one shop, or every shop (Admin).
type Principal struct {
	ShopID string
	Admin  bool
}

// Errors an Authorize function returns (wrapped or not).
var (
	ErrUnauthorized = errors.New("httpapi: missing or unknown key")
	ErrForbidden    = errors.New("httpapi: not allowed for this shop")
)

func (c *Config) setDefaults() error {
	if c.Store == nil {
		return errors.New("httpapi: Config.Store is required")
	}
	if c.Ingester == nil {
		return errors.New("httpapi: Config.Ingester is required")
	}
	for name, v := range map[string]int64{"MaxBodyBytes": c.MaxBodyBytes, "MaxDecodingBytes": c.MaxDecodingBytes, "MaxRejections": int64(c.MaxRejections),
		"MaxRange": int64(c.MaxRange), "RetryAfter": int64(c.RetryAfter),
		"LiveHeartbeat": int64(c.LiveHeartbeat), "LiveBufferBytes": c.LiveBufferBytes, "LiveWriteTimeout": int64(c.LiveWriteTimeout),
		"MaxLiveStreams": int64(c.MaxLiveStreams), "MaxLiveStreamsPerShop": int64(c.MaxLiveStreamsPerShop)} {
		if v < 0 {
			return fmt.Errorf("httpapi: Config.%s must not be negative", name)
		}
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	switch worst := worstCost(c.MaxBodyBytes); {
	case c.MaxDecodingBytes == 0:
		c.MaxDecodingBytes = max(64<<20, 2*worst)
	case c.MaxDecodingBytes < worst:
		return fmt.Errorf("httpapi: Config.MaxDecodingBytes %d cannot hold one body of MaxBodyBytes (%d) at its worst: it needs %d", c.MaxDecodingBytes, c.MaxBodyBytes, worst)
	}
	c.budget = &budget{max: c.MaxDecodingBytes}
	if c.MaxRejections == 0 {
		c.MaxRejections = 100
	}
	if c.MaxRange == 0 {
		c.MaxRange = 400 * 24 * time.Hour
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = time.Second
	}
	if c.LiveHeartbeat == 0 {
		c.LiveHeartbeat = 15 * time.Second
	}
	if c.LiveBufferBytes == 0 {
		c.LiveBufferBytes = 1 << 20
	}
	if c.LiveWriteTimeout == 0 {
		c.LiveWriteTimeout = 10 * time.Second
	}
	if c.MaxLiveStreams == 0 {
		c.MaxLiveStreams = 256
	}
	if c.MaxLiveStreamsPerShop == 0 {
		c.MaxLiveStreamsPerShop = max(1, c.MaxLiveStreams/4)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	seen := map[string]string{}
	ids := map[string]bool{}
	domains := map[string]string{}
	for i, s := range c.Shops {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("httpapi: Shops[%d].%w", i, err)
		}
		if ids[s.ID] {
			return fmt.Errorf("httpapi: Shops[%d].id: shop %q is listed twice", i, s.ID)
		}
		ids[s.ID] = true
		if d := strings.ToLower(s.ShopifyDomain); d != "" {
			if other, dup := domains[d]; dup {
				return fmt.Errorf("httpapi: Shops[%d].shopify_domain: %q is also shop %q's", i, s.ShopifyDomain, other)
			}
			domains[d] = s.ID
		}
		for _, k := range []string{s.WriteKey, s.ReadKey} {
			if k == "" {
				continue
			}
			if other, dup := seen[k]; dup {
				return fmt.Errorf("httpapi: shops %q and %q share a key", other, s.ID)
			}
			seen[k] = s.ID
		}
	}
	if c.AdminKey != "" {
		if other, dup := seen[c.AdminKey]; dup {
			return fmt.Errorf("httpapi: the admin key is also a key of shop %q", other)
		}
	}
	return nil
}
