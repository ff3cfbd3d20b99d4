package chart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/go-analyze/charts"
	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/analytics"
)

// svgTexts checks that b is well-formed SVG and returns the text of its
// <text> elements.
func svgTexts(t *testing.T, b []byte) []string {
	t.Helper()
	require.True(t, bytes.HasPrefix(b, []byte("<svg")), "starts with <svg: %.60s", b)
	d := xml.NewDecoder(bytes.NewReader(b))
	var texts []string
	var in bool
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, "well-formed XML")
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "text"
		case xml.CharData:
			if in {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			in = false
		}
	}
	return texts
}

func days(values ...int64) []analytics.Point {
	out := make([]analytics.Point, len(values))
	for i, v := range values {
		out[i] = analytics.Point{T: "2026-03-0" + string(rune('1'+i)), Value: v}
	}
	return out
}

func TestTimeSeriesLabelsItsAxesAndBuckets(t *testing.T) {
	cases := []struct {
		name string
		res  analytics.TimeSeriesResult
		want []string
	}{
		{"events per day", analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "Europe/Berlin", Points: days(5, 12, 7)},
			[]string{"Events per day", "Events", "Day", "Mar 1", "Mar 3", "2026-03-01 to 2026-03-03 · time zone Europe/Berlin"}},
		{"revenue names its currency", analytics.TimeSeriesResult{Metric: analytics.MetricRevenue, Currency: "EUR", Interval: analytics.Day, TZ: "UTC", Points: days(1999, 500)},
			[]string{"Revenue (EUR) per day", "Revenue (EUR)"}},
		{"hours are labelled by the hour", analytics.TimeSeriesResult{Metric: analytics.MetricOrders, Interval: analytics.Hour, TZ: "UTC", Points: []analytics.Point{
			{T: "2026-03-01T22:00:00Z", Value: 1}, {T: "2026-03-01T23:00:00Z", Value: 2}, {T: "2026-03-02T00:00:00Z", Value: 3}}},
			[]string{"Orders per hour", "Hour (UTC)", "22:00", "Mar 2"}},
		{"weeks", analytics.TimeSeriesResult{Metric: analytics.MetricUsers, Interval: analytics.Week, TZ: "UTC", Points: days(40, 41)},
			[]string{"Users per week", "Week starting"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := TimeSeries(c.res, Options{})
			require.NoError(t, err)
			texts := svgTexts(t, b)
			for _, w := range c.want {
				require.Contains(t, texts, w)
			}
			require.NotContains(t, texts, EmptyText)
		})
	}
}

func TestRevenueAxisIsInMajorUnits(t *testing.T) {
	b, err := TimeSeries(analytics.TimeSeriesResult{Metric: analytics.MetricRevenue, Currency: "USD", Interval: analytics.Day, TZ: "UTC",
		Points: days(150000, 300000)}, Options{})
	require.NoError(t, err)
	// The axis runs past 3,000.00 dollars, not 300,000 cents.
	texts := strings.Join(svgTexts(t, b), "|")
	require.Contains(t, texts, "|3,200|")
	require.NotContains(t, texts, "k|")
}

func TestEmptyDataSaysSo(t *testing.T) {
	cases := []struct {
		name string
		draw func() ([]byte, error)
	}{
		{"no buckets", func() ([]byte, error) {
			return TimeSeries(analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "UTC"}, Options{})
		}},
		{"only zeros", func() ([]byte, error) {
			return TimeSeries(analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "UTC", Points: days(0, 0, 0)}, Options{})
		}},
		{"funnel nobody entered", func() ([]byte, error) {
			return Funnel(analytics.FunnelResult{By: analytics.BySession, Steps: []analytics.FunnelStep{
				{EventName: "product_viewed"}, {EventName: "purchase_completed"}}}, Options{})
		}},
		{"funnel without steps", func() ([]byte, error) { return Funnel(analytics.FunnelResult{}, Options{Width: 300, Height: 200}) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.draw()
			require.NoError(t, err)
			require.Contains(t, svgTexts(t, b), EmptyText)
		})
	}
}

func TestFunnelLabelsEveryStepWithItsCount(t *testing.T) {
	res := analytics.FunnelResult{By: analytics.ByUser, Steps: []analytics.FunnelStep{
		{EventName: "product_viewed", Count: 1200, ConversionFromStart: 100},
		{EventName: "add_to_cart", Count: 300, ConversionFromStart: 25},
		{EventName: "checkout_started", Count: 300, ConversionFromStart: 25},
		{EventName: "purchase_completed", Count: 90, ConversionFromStart: 7.5},
	}}
	b, err := Funnel(res, Options{})
	require.NoError(t, err)
	texts := svgTexts(t, b)
	for _, w := range []string{"Funnel by user", "Users", "Product viewed", "Add to cart", "Checkout started", "Purchase completed",
		"1,200 · 100%", "300 · 25%", "90 · 7.5%", "7.5% reach Purchase completed"} {
		require.Contains(t, texts, w)
	}

	// Narrow: the counts alone.
	b, err = Funnel(res, Options{Width: 360, Height: 260})
	require.NoError(t, err)
	texts = svgTexts(t, b)
	require.Contains(t, texts, "1,200")
	require.Contains(t, texts, "Purchase completed")
}

func TestOptionsAreChecked(t *testing.T) {
	res := analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "UTC", Points: days(1)}
	for _, c := range []struct {
		o     Options
		field string
	}{
		{Options{Width: MinWidth - 1}, "width"},
		{Options{Width: MaxWidth + 1}, "width"},
		{Options{Height: MinHeight - 1}, "height"},
		{Options{Height: MaxHeight + 1}, "height"},
	} {
		_, err := TimeSeries(res, c.o)
		var se *SizeError
		require.ErrorAs(t, err, &se)
		require.Equal(t, c.field, se.Field)
		_, err = Funnel(analytics.FunnelResult{}, c.o)
		require.ErrorAs(t, err, &se)
	}
	b, err := TimeSeries(res, Options{Width: 500, Height: 200, Title: "Mine", Subtitle: "sub"})
	require.NoError(t, err)
	require.Contains(t, string(b), `viewBox="0 0 500 200"`)
	texts := svgTexts(t, b)
	require.Contains(t, texts, "Mine")
	require.Contains(t, texts, "sub")
}

func TestNumberFormatting(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {7, "7"}, {950, "950"}, {12500, "12,500"}, {99999, "99,999"},
		{250000, "250k"}, {1200000, "1.2M"}, {3000000, "3M"}, {-1500, "-1,500"},
	} {
		require.Equal(t, c.want, countFormatter(c.v), "%v", c.v)
	}
	require.Equal(t, "12.50", amountFormatter(2)(12.5))
	require.Equal(t, "12", amountFormatter(2)(12))
	require.Equal(t, "13", amountFormatter(0)(12.5), "JPY has no decimals")
	require.Equal(t, "0.125", amountFormatter(3)(0.125))
	require.Equal(t, "1,251", amountFormatter(2)(1250.5))
	require.Equal(t, "Add to cart", StepName("add_to_cart"))
	require.Equal(t, "", StepName(""))
}

// contrast is the WCAG contrast ratio of two colours.
func contrast(a, b charts.Color) float64 {
	lum := func(c charts.Color) float64 {
		f := func(v uint8) float64 {
			x := float64(v) / 255
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*f(c.R) + 0.7152*f(c.G) + 0.0722*f(c.B)
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}

func TestColoursHaveEnoughContrast(t *testing.T) {
	for _, c := range []struct {
		name string
		fg   charts.Color
		min  float64
	}{
		{"text", colorText, 4.5},
		{"axis labels", colorAxis, 4.5},
		{"series", colorSeries, 3}, // a graphical object (WCAG 1.4.11)
	} {
		require.GreaterOrEqual(t, contrast(c.fg, colorWhite), c.min, c.name)
	}
}

// BenchmarkDraw measures drawing alone, the cost a chart route adds to the
// query behind it: go test -run '^$' -bench Draw ./internal/chart
func BenchmarkDraw(b *testing.B) {
	month := analytics.TimeSeriesResult{Metric: analytics.MetricEvents, Interval: analytics.Day, TZ: "UTC"}
	for i := range 30 {
		month.Points = append(month.Points, analytics.Point{T: fmt.Sprintf("2026-03-%02d", 1+i%28), Value: int64(1000 + i*37%400)})
	}
	funnel := analytics.FunnelResult{By: analytics.BySession, Steps: []analytics.FunnelStep{
		{EventName: "product_viewed", Count: 8700, ConversionFromStart: 100}, {EventName: "add_to_cart", Count: 3100, ConversionFromStart: 35.6},
		{EventName: "checkout_started", Count: 1500, ConversionFromStart: 17.2}, {EventName: "purchase_completed", Count: 960, ConversionFromStart: 11},
	}}
	b.Run("timeseries-30-days", func(b *testing.B) {
		for b.Loop() {
			if _, err := TimeSeries(month, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("funnel-4-steps", func(b *testing.B) {
		for b.Loop() {
			if _, err := Funnel(funnel, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
