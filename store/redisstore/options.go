package redisstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for the zero values of Options.
const (
	DefaultPrefix   = "shoplytics"
	DefaultDedupTTL = 7 * 24 * time.Hour
	DefaultPageSize = 500
)

// Options configure a Store. The zero value of every field but Client/URL is
// a documented default.
type Options struct {
	// Client is the Redis client to use (a *redis.Client, *redis.ClusterClient
	// or a failover client). The store never closes it. Set Client or URL,
	// not both.
	Client redis.UniversalClient
	// URL opens a client of the store's own, closed by Close, for example
	// "redis://localhost:6379/0" (see redis.ParseURL).
	URL string
	// Prefix starts every key name, so several stores share one Redis; keys
	// are "{Prefix}:…" (a Cluster hash tag). Default "shoplytics". It must
	// not contain braces.
	Prefix string
	// MaxLen caps each shop stream at about this many entries (XADD MAXLEN ~);
	// an entry holds the events of one shop from one Append, up to 256.
	// Older entries are dropped whether or not a relay has moved them yet,
	// and reads skip them. 0, the default, keeps everything.
	MaxLen int64
	// DedupTTL is how long an event id is at least remembered for
	// idempotency: the same (shop_id, id) appended again within this window
	// is a duplicate. Ids are forgotten a generation at a time, between
	// DedupTTL and twice DedupTTL after they came. Default 7 days; at least
	// one second.
	DedupTTL time.Duration
	// PageSize is how many index entries a read fetches per round trip;
	// memory of a read is proportional to it. Default 500.
	PageSize int
}

func (o Options) withDefaults() (Options, error) {
	if (o.Client == nil) == (o.URL == "") {
		return o, errors.New("redisstore: set exactly one of Options.Client and Options.URL")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return o, fmt.Errorf("redisstore: prefix %q must not contain braces", o.Prefix)
	}
	if o.MaxLen < 0 {
		return o, fmt.Errorf("redisstore: negative MaxLen %d", o.MaxLen)
	}
	switch {
	case o.DedupTTL == 0:
		o.DedupTTL = DefaultDedupTTL
	case o.DedupTTL < time.Second:
		return o, fmt.Errorf("redisstore: DedupTTL %v is below one second", o.DedupTTL)
	}
	switch {
	case o.PageSize == 0:
		o.PageSize = DefaultPageSize
	case o.PageSize < 0:
		return o, fmt.Errorf("redisstore: negative PageSize %d", o.PageSize)
	}
	return o, nil
}

// generationLength is the length in milliseconds of a dedup generation for
// a window of ttl. An id is looked up in the current generation and the one
// before it, so it is remembered for at least one generation (ttl) and at
// most two.
func generationLength(ttl time.Duration) int64 { return ttl.Milliseconds() }
