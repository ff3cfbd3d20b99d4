package chart

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
)

// The chart routes draw on many requests' goroutines at once, through a
// library with package-level fonts and themes.
func TestChartsDrawnAtOnceAreTheSame(t *testing.T) {
	ts := analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "UTC", Points: days(3, 9, 4, 12)}
	fn := analytics.FunnelResult{By: analytics.BySession, Steps: []analytics.FunnelStep{{EventName: "product_viewed", Count: 10}, {EventName: "add_to_cart", Count: 4}}}
	wantTS, err := TimeSeries(ts, Options{})
	require.NoError(t, err)
	wantFn, err := Funnel(fn, Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			// assert, not require: FailNow may not run off the test's goroutine.
			got, err := TimeSeries(ts, Options{})
			assert.NoError(t, err)
			assert.Equal(t, string(wantTS), string(got))
			got, err = Funnel(fn, Options{})
			assert.NoError(t, err)
			assert.Equal(t, string(wantFn), string(got))
		})
	}
	wg.Wait()
}
