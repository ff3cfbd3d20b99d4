package insights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultInterval is SchedulerOptions.Interval's default.
const DefaultInterval = 5 * time.Minute

// Shop is a shop the scheduler evaluates, and its zone.
type Shop struct {
	ID string
	// Location is the shop's zone (nil is UTC): its daily report covers
	// its local day.
	Location *time.Location
}

// SchedulerOptions configure a Scheduler. Shops is required; the zero
// value of every other field is its documented default.
type SchedulerOptions struct {
	// Shops are evaluated on every pass, one after the other.
	Shops []Shop
	// Interval between the starts of passes (default DefaultInterval). A
	// pass that takes longer delays the next: passes never overlap.
	Interval time.Duration
	// Jitter is the most a pass is delayed at random (default a tenth of
	// the interval), so several processes do not evaluate at one instant.
	Jitter time.Duration
	// Notifier receives every raised insight and every daily report
	// (default: none).
	Notifier Notifier
	// ReportDir, when set, receives each daily report as
	// <shop>-<date>.json and <shop>-<date>.csv. A report whose JSON file
	// is there already is not made again, so a restart after midnight
	// makes the missing report once.
	ReportDir string
	// NoReports turns the daily reports off.
	NoReports bool
	// Logger receives the errors of passes (default slog.Default()).
	Logger *slog.Logger
}

// Scheduler runs an engine for every shop on an interval, notifies what
// it raises and makes each shop's daily report after its midnight.
type Scheduler struct {
	e    *Engine
	o    SchedulerOptions
	pass sync.Mutex // held by the running pass
	// lastDay is the local date each shop was last evaluated on.
	lastDay map[string]string
}

// NewScheduler checks the options and returns a scheduler; Run starts it.
func NewScheduler(e *Engine, o SchedulerOptions) (*Scheduler, error) {
	if e == nil {
		return nil, errors.New("insights: scheduler: an engine is required")
	}
	if len(o.Shops) == 0 {
		return nil, errors.New("insights: scheduler: Shops is required")
	}
	if o.Interval < 0 || o.Jitter < 0 {
		return nil, errors.New("insights: scheduler: Interval and Jitter must not be negative")
	}
	for i, s := range o.Shops {
		if s.ID == "" {
			return nil, fmt.Errorf("insights: scheduler: Shops[%d] has no id", i)
		}
	}
	o.Interval = or(o.Interval, DefaultInterval)
	if o.Jitter == 0 {
		o.Jitter = o.Interval / 10
	}
	if o.Jitter >= o.Interval {
		return nil, errors.New("insights: scheduler: Jitter must be shorter than Interval")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ReportDir != "" {
		if err := os.MkdirAll(o.ReportDir, 0o755); err != nil {
			return nil, fmt.Errorf("insights: scheduler: report directory: %w", err)
		}
	}
	return &Scheduler{e: e, o: o, lastDay: map[string]string{}}, nil
}

// Run makes a pass at once and then every interval, until ctx ends; it
// returns ctx's error. Errors of a pass are logged, never fatal.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		start := time.Now()
		if d := time.Duration(rand.Int64N(int64(s.o.Jitter) + 1)); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		s.Pass(ctx)
		t.Reset(max(0, s.o.Interval-time.Since(start)))
	}
}

// PassResult is what one pass did, per shop.
type PassResult struct {
	Raised  map[string][]Insight
	Reports []Report
	// Skipped is set when another pass was running: this one did nothing.
	Skipped bool
}

// Pass evaluates every shop once at the engine's clock's time, notifies
// what it raised, and makes the daily report of each shop whose local day
// changed since its last pass (or, with ReportDir, whose yesterday has no
// report file yet). It never runs alongside another pass: a call while
// one runs returns at once with Skipped set.
func (s *Scheduler) Pass(ctx context.Context) PassResult {
	res := PassResult{Raised: map[string][]Insight{}}
	if !s.pass.TryLock() {
		s.o.Logger.Warn("insights: a pass is still running; this one is skipped")
		res.Skipped = true
		return res
	}
	defer s.pass.Unlock()
	for _, shop := range s.o.Shops {
		if ctx.Err() != nil {
			return res
		}
		loc := shop.Location
		if loc == nil {
			loc = time.UTC
		}
		now := s.e.Now()
		r, err := s.e.EvaluateAt(ctx, shop.ID, loc, now)
		if err != nil {
			s.o.Logger.Error("insights: evaluation failed", "shop", shop.ID, "failed_rules", FailedRules(err), "err", err)
		}
		res.Raised[shop.ID] = r.Raised
		for i := range r.Raised {
			s.notify(ctx, Notification{Kind: KindInsight, ShopID: shop.ID, Insight: &r.Raised[i]})
		}
		if s.o.NoReports {
			continue
		}
		today := now.In(loc).Format(time.DateOnly)
		last, seen := s.lastDay[shop.ID]
		s.lastDay[shop.ID] = today
		yesterday := now.In(loc).AddDate(0, 0, -1).Format(time.DateOnly)
		due := seen && last != today
		if !seen && s.o.ReportDir != "" {
			_, statErr := os.Stat(s.reportPath(shop.ID, yesterday, ".json"))
			due = errors.Is(statErr, os.ErrNotExist)
		}
		if !due {
			continue
		}
		rep, err := DailyReport(ctx, s.e.Store(), s.e.Keeper(), shop.ID, yesterday, loc)
		if err != nil {
			s.o.Logger.Error("insights: daily report failed", "shop", shop.ID, "date", yesterday, "err", err)
			delete(s.lastDay, shop.ID) // try again on the next pass
			continue
		}
		if err := s.writeReport(rep); err != nil {
			s.o.Logger.Error("insights: writing the daily report failed", "shop", shop.ID, "date", yesterday, "err", err)
		}
		s.notify(ctx, Notification{Kind: KindDailyReport, ShopID: shop.ID, Report: &rep})
		res.Reports = append(res.Reports, rep)
	}
	return res
}

func (s *Scheduler) notify(ctx context.Context, n Notification) {
	if s.o.Notifier == nil {
		return
	}
	if err := s.o.Notifier.Notify(ctx, n); err != nil {
		s.o.Logger.Error("insights: notification failed", "shop", n.ShopID, "kind", n.Kind, "err", err)
	}
}

func (s *Scheduler) reportPath(shopID, date, ext string) string {
	return filepath.Join(s.o.ReportDir, shopID+"-"+date+ext)
}

// writeReport writes the CSV, then the JSON, each through a temporary
// file renamed into place: the JSON file's presence means the report is
// complete.
func (s *Scheduler) writeReport(r Report) error {
	if s.o.ReportDir == "" {
		return nil
	}
	write := func(ext string, fill func(f *os.File) error) error {
		path := s.reportPath(r.ShopID, r.Date, ext)
		f, err := os.CreateTemp(s.o.ReportDir, ".report-*")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if err := fill(f); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(f.Name(), path)
	}
	if err := write(".csv", func(f *os.File) error { return r.WriteCSV(f) }); err != nil {
		return err
	}
	return write(".json", func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	})
}
