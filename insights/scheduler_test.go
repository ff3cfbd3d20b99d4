package insights_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
)

// recorder is a notifier that keeps what it is given.
type recorder struct {
	mu   sync.Mutex
	got  []insights.Notification
	hook func()
}

func (r *recorder) Notify(ctx context.Context, n insights.Notification) error {
	if r.hook != nil {
		r.hook()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return nil
}

func (r *recorder) kinds() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, n := range r.got {
		out[n.Kind]++
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

func TestSchedulerNotifiesWhatItRaisesAndReportsTheDayAfterMidnight(t *testing.T) {
	s, clock, eng := builtinAtBurst(t)
	rec := &recorder{}
	dir := t.TempDir()
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	sch, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: []insights.Shop{{ID: shop, Location: berlin}},
		Notifier: rec, ReportDir: dir, Logger: quiet})
	require.NoError(t, err)

	// The first pass, at the burst: a report of the day before is missing
	// from the directory, so it is made; the flash sale is notified.
	res := sch.Pass(ctx(t))
	require.NotEmpty(t, of("flash_sale", res.Raised[shop]))
	require.Len(t, res.Reports, 1)
	require.Equal(t, "2026-03-02", res.Reports[0].Date)
	require.Equal(t, len(res.Raised[shop]), rec.kinds()[insights.KindInsight])
	require.Equal(t, 1, rec.kinds()[insights.KindDailyReport])

	// Later the same day: nothing new is reported.
	clock.add(time.Minute)
	res = sch.Pass(ctx(t))
	require.Empty(t, res.Reports)

	// After midnight in Berlin (23:00 UTC): the burst's day is reported.
	clock.set(time.Date(2026, 3, 3, 23, 1, 0, 0, time.UTC))
	res = sch.Pass(ctx(t))
	require.Len(t, res.Reports, 1)
	rep := res.Reports[0]
	require.Equal(t, "2026-03-03", rep.Date)
	require.Equal(t, "Europe/Berlin", rep.TZ)
	require.NotEmpty(t, of("flash_sale", rep.Insights))
	from, to := time.Date(2026, 3, 2, 23, 0, 0, 0, time.UTC), time.Date(2026, 3, 3, 23, 0, 0, 0, time.UTC)
	require.Equal(t, int64(len(scan(t, s, from, to))), rep.Stats.Events)
	require.Equal(t, 2, rec.kinds()[insights.KindDailyReport])

	// Both files are there, and they agree.
	b, err := os.ReadFile(filepath.Join(dir, shop+"-2026-03-03.json"))
	require.NoError(t, err)
	var fromFile struct {
		Date  string `json:"date"`
		Stats struct {
			Events int64 `json:"events"`
		} `json:"stats"`
	}
	require.NoError(t, json.Unmarshal(b, &fromFile))
	require.Equal(t, "2026-03-03", fromFile.Date)
	require.Equal(t, rep.Stats.Events, fromFile.Stats.Events)
	f, err := os.Open(filepath.Join(dir, shop+"-2026-03-03.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"section", "name", "field", "value"}, rows[0])
	require.Contains(t, rows, []string{"report", shop, "date", "2026-03-03"})
	require.Contains(t, rows, []string{"insight", of("flash_sale", rep.Insights)[0].ID, "rule", "flash_sale"})

	// A new scheduler (a restart) finds the report written and makes none.
	again, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: []insights.Shop{{ID: shop, Location: berlin}},
		ReportDir: dir, Logger: quiet})
	require.NoError(t, err)
	require.Empty(t, again.Pass(ctx(t)).Reports)
}

func TestSchedulerPassesNeverOverlap(t *testing.T) {
	clock := newClock(t0)
	r := &staticRule{name: "r", found: []insights.Insight{{Severity: insights.Info, Title: "t", Message: "m"}}}
	eng := newEngine(t, memStore(), clock, r)
	entered, release := make(chan struct{}), make(chan struct{})
	rec := &recorder{hook: func() { close(entered); <-release }}
	sch, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: []insights.Shop{{ID: shop}}, Notifier: rec,
		NoReports: true, Logger: quiet})
	require.NoError(t, err)
	done := make(chan insights.PassResult)
	go func() { done <- sch.Pass(context.Background()) }()
	<-entered
	require.True(t, sch.Pass(ctx(t)).Skipped)
	close(release)
	first := <-done
	require.False(t, first.Skipped)
	require.Len(t, first.Raised[shop], 1)
}

func TestSchedulerRunStopsWithItsContext(t *testing.T) {
	clock := newClock(t0)
	eng := newEngine(t, memStore(), clock, &staticRule{name: "r", found: []insights.Insight{{Severity: insights.Info, Title: "t", Message: "m"}}})
	c, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	rec.hook = cancel // the first pass's notification ends the run
	sch, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: []insights.Shop{{ID: shop}}, Notifier: rec,
		Interval: time.Hour, Jitter: time.Nanosecond, NoReports: true, Logger: quiet})
	require.NoError(t, err)
	require.ErrorIs(t, sch.Run(c), context.Canceled)
	require.Equal(t, 1, rec.kinds()[insights.KindInsight])
}

func TestSchedulerLogsFailuresAndGoesOn(t *testing.T) {
	var logged syncBuffer
	eng := newEngine(t, memStore(), newClock(t0), &staticRule{name: "bad", err: errors.New("store down")})
	sch, err := insights.NewScheduler(eng, insights.SchedulerOptions{Shops: []insights.Shop{{ID: "a"}, {ID: "b"}},
		NoReports: true, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	require.NoError(t, err)
	res := sch.Pass(ctx(t))
	require.Len(t, res.Raised, 2, "both shops were evaluated")
	require.Contains(t, logged.String(), "failed_rules=[bad]")
	require.Contains(t, logged.String(), "shop=b")
}

func TestSchedulerOptionsAreChecked(t *testing.T) {
	eng := newEngine(t, memStore(), newClock(t0))
	for _, o := range []insights.SchedulerOptions{
		{},
		{Shops: []insights.Shop{{}}},
		{Shops: []insights.Shop{{ID: "a"}}, Interval: -time.Second},
		{Shops: []insights.Shop{{ID: "a"}}, Interval: time.Minute, Jitter: time.Minute},
	} {
		_, err := insights.NewScheduler(eng, o)
		require.Error(t, err)
	}
	_, err := insights.NewScheduler(nil, insights.SchedulerOptions{Shops: []insights.Shop{{ID: "a"}}})
	require.Error(t, err)
}

type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

var _ io.Writer = (*syncBuffer)(nil)
