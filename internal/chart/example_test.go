package chart_test

import (
	"bytes"
	"fmt"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/internal/chart"
)

// A week of orders, drawn at the size it will be shown.
func ExampleTimeSeries() {
	res := analytics.TimeSeriesResult{Metric: analytics.MetricOrders, Interval: analytics.Day, TZ: "Europe/Berlin"}
	for i, n := range []int64{3, 5, 2, 8, 6, 9, 4} {
		res.Points = append(res.Points, analytics.Point{T: fmt.Sprintf("2026-03-%02d", 2+i), Value: n})
	}
	svg, err := chart.TimeSeries(res, chart.Options{Width: 640, Height: 280})
	if err != nil {
		panic(err)
	}
	fmt.Println(bytes.HasPrefix(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"`)))
	fmt.Println(bytes.Contains(svg, []byte(`viewBox="0 0 640 280"`)))
	fmt.Println(bytes.Contains(svg, []byte(">Orders per day<")), bytes.Contains(svg, []byte(">Mar 2<")))
	// Output:
	// true
	// true
	// true true
}

// A range with nothing in it says so instead of failing.
func ExampleFunnel_empty() {
	svg, err := chart.Funnel(analytics.FunnelResult{By: analytics.BySession}, chart.Options{})
	fmt.Println(err, bytes.Contains(svg, []byte(chart.EmptyText)))
	// Output:
	// <nil> true
}
