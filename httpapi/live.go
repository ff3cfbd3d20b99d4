package httpapi

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// liveHub fans the events the ingester stores out to the live streams of
// their shop (GET /api/live). It observes the ingester only while someone
// watches, and never blocks it: a stream's events wait in a buffer of
// bounded size, and a stream whose buffer would overflow (a client that
// reads too slowly, or not at all) is dropped instead.
type liveHub struct {
	in         *ingest.Ingester
	maxBytes   int
	maxStreams int // in all
	maxPerShop int // of one shop

	mu sync.Mutex
	// streams are the streams of each shop that watches; a shop whose
	// last stream goes is deleted, so the map is empty exactly when
	// nobody watches.
	streams map[string]map[*liveStream]struct{}
	stop    func() // ends the ingester observation; nil while nobody watches

	open    atomic.Int64  // streams open now, for /metrics
	dropped atomic.Uint64 // streams dropped for falling behind, for /metrics
}

// liveStream is one client's buffer of encoded messages.
type liveStream struct {
	mu      sync.Mutex
	pending [][]byte
	bytes   int
	dropped bool
	wake    chan struct{} // cap 1: something to send, or dropped
	// cut ends a write to the client in progress (it sets the write
	// deadline to now), so that a dropped stream's goroutine, blocked
	// writing to a client that reads nothing, ends at once.
	cut func()
}

func newLiveHub(in *ingest.Ingester, maxBytes, maxStreams, maxPerShop int) *liveHub {
	return &liveHub{in: in, maxBytes: maxBytes, maxStreams: maxStreams, maxPerShop: maxPerShop,
		streams: map[string]map[*liveStream]struct{}{}}
}

// subscribe opens a stream of shop's events, observing the ingester if
// this is the first stream. It returns nil when maxStreams are open, or
// maxPerShop of shop's.
func (hub *liveHub) subscribe(shop string, cut func()) *liveStream {
	s := &liveStream{wake: make(chan struct{}, 1), cut: cut}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if hub.open.Load() >= int64(hub.maxStreams) || len(hub.streams[shop]) >= hub.maxPerShop {
		return nil
	}
	if hub.streams[shop] == nil {
		hub.streams[shop] = map[*liveStream]struct{}{}
	}
	hub.streams[shop][s] = struct{}{}
	hub.open.Add(1)
	if hub.stop == nil {
		hub.stop = hub.in.Observe(hub.stored)
	}
	return s
}

// unsubscribe closes a stream (dropped or not), and stops observing the
// ingester once no stream is left.
func (hub *liveHub) unsubscribe(shop string, s *liveStream) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	if _, ok := hub.streams[shop][s]; ok {
		hub.remove(shop, s)
	}
	hub.open.Add(-1)
	if len(hub.streams) == 0 && hub.stop != nil {
		hub.stop()
		hub.stop = nil
	}
}

// remove takes s out of the hub; hub.mu is held.
func (hub *liveHub) remove(shop string, s *liveStream) {
	delete(hub.streams[shop], s)
	if len(hub.streams[shop]) == 0 {
		delete(hub.streams, shop)
	}
}

// stored is the ingester observer: each event the store inserted (not the
// duplicates) goes to the streams of its shop, encoded once, and each
// stream takes its shop's events of the batch in one push (one lock and
// one wake-up a batch, not an event).
func (hub *liveHub) stored(events []tracking.Event, res store.AppendResult) {
	hub.mu.Lock()
	defer hub.mu.Unlock()
	var byShop map[string][][]byte
	for i := range events {
		if i < len(res.Duplicate) && res.Duplicate[i] {
			continue
		}
		e := &events[i]
		if len(hub.streams[e.ShopID]) == 0 {
			continue
		}
		if byShop == nil {
			byShop = map[string][][]byte{}
		}
		byShop[e.ShopID] = append(byShop[e.ShopID], liveMessage(e))
	}
	for shop, msgs := range byShop {
		for s := range hub.streams[shop] {
			if !s.push(msgs, hub.maxBytes) {
				hub.remove(shop, s)
				hub.dropped.Add(1)
			}
		}
	}
}

// liveMessage is an event's SSE message: its JSON is one line
// (Event.AppendJSON makes it so), the data field's.
func liveMessage(e *tracking.Event) []byte {
	msg := e.AppendJSON(append(make([]byte, 0, 1024), "event: event\ndata: "...))
	return append(msg, '\n', '\n')
}

// push adds messages to the stream's buffer, or drops the stream (and
// frees its buffer) when they would take a buffer that holds something
// past max bytes: a batch larger than max alone is taken, so a client
// that keeps up is not dropped for the ingester's batch size. It reports
// whether the stream is still open.
func (s *liveStream) push(msgs [][]byte, max int) bool {
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped {
		return false
	}
	if s.bytes > 0 && s.bytes+size > max {
		s.dropped = true
		s.pending, s.bytes = nil, 0
		s.cut()
	} else {
		s.pending = append(s.pending, msgs...) // shared between streams, never written to
		s.bytes += size
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return !s.dropped
}

func (s *liveStream) isDropped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// take empties the buffer.
func (s *liveStream) take() (msgs [][]byte, dropped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, s.pending, s.bytes = s.pending, nil, 0
	return msgs, s.dropped
}

// live answers GET /api/live: Server-Sent Events, one "event: event" whose
// data is the event's JSON for each event of the shop stored from now on,
// flushed as it comes, and a comment line every Config.LiveHeartbeat so
// that proxies and clients know the stream is alive. A client that falls
// more than Config.LiveBufferBytes behind gets an "event: dropped" (if it
// still reads) and the stream ends; EventSource then reconnects. Each write
// has a deadline, so a client that stops reading ends its stream's
// goroutine too.
func (h *handler) live(w http.ResponseWriter, r *http.Request, rp readParams) {
	rc := http.NewResponseController(w)
	s := h.hub.subscribe(rp.ShopID, func() { _ = rc.SetWriteDeadline(time.Now()) })
	if s == nil {
		h.retryLater(w, "too many live streams open: try again later")
		return
	}
	defer h.hub.unsubscribe(rp.ShopID, s)

	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	// The write deadlines stay on the connection after the answer, and
	// would cut the next request on it: the stream is its last.
	hd.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)

	// send writes and flushes what is pending, within a deadline, through a
	// large buffer, so a batch of events goes out in few chunks. The
	// deadline is set before the stream is checked for being dropped, and
	// the hub drops it before cutting, so a cut is never undone by a later
	// deadline.
	bw := bufio.NewWriterSize(w, 64<<10)
	send := func(b ...[]byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.LiveWriteTimeout))
		if s.isDropped() {
			return false
		}
		for _, p := range b {
			if _, err := bw.Write(p); err != nil {
				return false
			}
		}
		return bw.Flush() == nil && rc.Flush() == nil
	}
	// The opening comment tells the client the stream is subscribed;
	// retry is how long EventSource waits before it reconnects.
	if !send([]byte(": shoplytics live feed of shop " + rp.ShopID + "\nretry: 3000\n\n")) {
		return
	}
	heartbeat := time.NewTicker(h.cfg.LiveHeartbeat)
	defer heartbeat.Stop()
	stopping := stopSignal(r.Context())
	for {
		select {
		case <-r.Context().Done():
			return
		case <-stopping:
			return
		case <-heartbeat.C:
			if !send([]byte(": heartbeat\n\n")) {
				return
			}
		case <-s.wake:
			msgs, dropped := s.take()
			if dropped {
				// A client that still reads learns why the stream ends; one
				// that does not is not waited for.
				_ = rc.SetWriteDeadline(time.Now().Add(time.Second))
				_, _ = w.Write([]byte("event: dropped\ndata: {\"error\":\"this client fell too far behind the live feed; reconnect\"}\n\n"))
				_ = rc.Flush()
				return
			}
			if !send(msgs...) {
				return
			}
		}
	}
}

// stoppingKey is the context key of the channel that EndStreamsOnShutdown
// closes.
type stoppingKey struct{}

// stopSignal returns the channel closed when the server begins to shut
// down, or nil (never ready) for a server that EndStreamsOnShutdown did
// not prepare.
func stopSignal(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(stoppingKey{}).(<-chan struct{})
	return ch
}

// EndStreamsOnShutdown makes srv's Shutdown end the open live streams
// (GET /api/live) at once: http.Server.Shutdown waits for every request
// in flight, and a live stream never ends by itself, so without this a
// stop waits for its whole timeout. Run calls it; call it before Serve
// when running an http.Server of your own. It wraps srv.BaseContext.
func EndStreamsOnShutdown(srv *http.Server) {
	stopping := make(chan struct{})
	srv.RegisterOnShutdown(sync.OnceFunc(func() { close(stopping) }))
	base := srv.BaseContext
	srv.BaseContext = func(l net.Listener) context.Context {
		ctx := context.Background()
		if base != nil {
			ctx = base(l)
		}
		return context.WithValue(ctx, stoppingKey{}, (<-chan struct{})(stopping))
	}
}
