package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/shoplytics/shoplytics/ingest"
)

// RunOptions tune Run. The zero value is ready to use.
type RunOptions struct {
	// Listener, when set, is served instead of listening on the server's
	// Addr (tests pass one on port 0; systemd sockets pass theirs).
	Listener net.Listener
	// ShutdownTimeout bounds each step of the stop (default 30s): first the
	// HTTP server's Shutdown, then, with a budget of its own, the
	// ingester's drain, so slow clients cannot eat the time owed to
	// accepted events.
	ShutdownTimeout time.Duration
	// Logger receives what the stop could not do cleanly (default
	// slog.Default()).
	Logger *slog.Logger
	// BeforeDrain, when set, is called once the HTTP server has stopped and
	// before the ingester drains, with the drain's deadline: the place to
	// close what feeds the ingester from outside requests, such as a
	// tracking.Client whose Sink is the ingester, so its buffered events
	// are stored too. Its error is returned with Run's.
	BeforeDrain func(ctx context.Context) error
}

// Run serves srv, whose Handler is the application's router with this
// package's handler mounted on it, until ctx ends (typically
// signal.NotifyContext for SIGINT and SIGTERM); then it stops in the order
// that loses no accepted event: the HTTP server first, so no request is
// taken any more and the handlers in flight finish, then the ingester,
// which stores everything queued. It starts the ingester if it is not
// running and always shuts it down before returning, also when the server
// cannot listen or fails.
//
// The open live streams (GET /api/live), which never end by themselves,
// are ended when the stop begins (EndStreamsOnShutdown).
//
// Run returns nil after a clean stop; otherwise the server's error, or the
// ingester's if its drain overran ShutdownTimeout (its error counts what
// was not stored).
func Run(ctx context.Context, srv *http.Server, in *ingest.Ingester, opts RunOptions) error {
	if srv == nil || in == nil {
		return errors.New("httpapi: Run needs a server and an ingester")
	}
	if opts.ShutdownTimeout < 0 {
		return errors.New("httpapi: RunOptions.ShutdownTimeout must not be negative")
	}
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	EndStreamsOnShutdown(srv)
	in.Start()
	ln := opts.Listener
	if ln == nil {
		addr := srv.Addr
		if addr == "" {
			addr = ":http"
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return errors.Join(fmt.Errorf("httpapi: listen: %w", err), drain(in, opts))
		}
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var failed error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		failed = fmt.Errorf("httpapi: serve: %w", err)
	}
	httpCtx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(httpCtx); err != nil {
		log.Warn("httpapi: http shutdown: closing the connections still open", "err", err)
		_ = srv.Close()
	}
	return errors.Join(failed, drain(in, opts))
}

// drain calls opts.BeforeDrain, then shuts the ingester down, both within
// opts.ShutdownTimeout.
func drain(in *ingest.Ingester, opts RunOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), opts.ShutdownTimeout)
	defer cancel()
	var before error
	if opts.BeforeDrain != nil {
		if before = opts.BeforeDrain(ctx); before != nil {
			before = fmt.Errorf("httpapi: before drain: %w", before)
		}
	}
	return errors.Join(before, in.Shutdown(ctx))
}
