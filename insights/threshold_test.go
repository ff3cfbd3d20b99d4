package insights_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoplytics/shoplytics/insights"
	"github.com/shoplytics/shoplytics/tracking"
)

func threshold(t *testing.T, js string) insights.Threshold {
	t.Helper()
	var th insights.Threshold
	require.NoError(t, json.Unmarshal([]byte(js), &th))
	return th
}

func TestThresholdRulesRefuseBadFieldsNamingThem(t *testing.T) {
	base := `"name":"r","metric":"events","comparison":">=","threshold":5,"window":"1h"`
	for _, tc := range []struct{ js, field string }{
		{`{"name":"Bad Name","metric":"events","comparison":">=","threshold":5,"window":"1h"}`, "name"},
		{`{"name":"r","metric":"clicks","comparison":">=","threshold":5,"window":"1h"}`, "metric"},
		{`{` + base + `,"type":"not a type!"}`, "type"},
		{`{"name":"r","metric":"events","comparison":"=>","threshold":5,"window":"1h"}`, "comparison"},
		{`{"name":"r","metric":"events","comparison":">=","threshold":"many","window":"1h"}`, "threshold"},
		{`{"name":"r","metric":"events","comparison":">=","window":"1h"}`, "threshold"},
		{`{"name":"r","metric":"events","comparison":">=","threshold":5}`, "window"},
		{`{` + base + `,"slide":"2h"}`, "slide"},
		{`{` + base + `,"severity":"urgent"}`, "severity"},
		{`{` + base + `,"min_sample":-1}`, "min_sample"},
		{`{"name":"r","metric":"revenue","comparison":"<","threshold":"10.00","window":"1h"}`, "currency"},
		{`{"name":"r","metric":"revenue","currency":"JPY","comparison":"<","threshold":"10.50","window":"1h"}`, "threshold"},
		{`{"name":"r","metric":"conversion_rate","product_id":"p1","comparison":"<","threshold":1,"window":"1h"}`, "metric"},
		{`{` + base + `,"product_id":"p1"}`, "type"},
		{`{` + base + `,"product_id":"p1","category":"shoes","type":"product_viewed"}`, "category"},
		{`{"name":"r","metric":"orders","type":"add_to_cart","comparison":">=","threshold":5,"window":"1h"}`, "type"},
	} {
		_, err := threshold(t, tc.js).Rule()
		var fe *insights.FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", tc.js, err)
		require.Equal(t, tc.field, fe.Field, tc.js)
	}
	var th insights.Threshold
	require.Error(t, json.Unmarshal([]byte(`{"window":"soon"}`), &th))
}

func TestThresholdRulesMeasureWhatTheyNameAndResolve(t *testing.T) {
	at := t0
	var events []tracking.Event
	for i := range 5 {
		events = append(events, ev(tracking.AddToCart, at.Add(-time.Duration(i+1)*5*time.Minute), product("p1", "Mug"),
			func(e *tracking.Event) { e.Category = "kitchen" }))
	}
	for i, amount := range []string{"20.00", "15.50", "0.10"} {
		events = append(events, ev(tracking.PurchaseCompleted, at.Add(-time.Duration(i+1)*7*time.Minute), product("p1", "Mug"),
			paid(amount, "EUR"), func(e *tracking.Event) { e.Category = "kitchen" }))
	}
	events = append(events, ev(tracking.PurchaseCompleted, at.Add(-time.Minute), paid("1000", "JPY")))
	for _, tc := range []struct {
		js, value string
		fires     bool
		subject   string
	}{
		{`{"name":"adds","metric":"events","type":"add_to_cart","comparison":">=","threshold":5,"window":"1h"}`, "5", true, ""},
		{`{"name":"adds","metric":"events","type":"add_to_cart","comparison":">=","threshold":6,"window":"1h"}`, "5", false, ""},
		{`{"name":"all","metric":"events","comparison":">","threshold":8,"window":"1h"}`, "9", true, ""},
		{`{"name":"few_sales","metric":"revenue","currency":"EUR","comparison":"<","threshold":"100.00","window":"1h","severity":"critical"}`, "35.60 EUR", true, ""},
		{`{"name":"few_sales","metric":"revenue","currency":"EUR","comparison":"<","threshold":"35.60","window":"1h"}`, "35.60 EUR", false, ""},
		{`{"name":"yen","metric":"revenue","currency":"jpy","comparison":">=","threshold":1000,"window":"1h"}`, "1000 JPY", true, ""},
		{`{"name":"orders","metric":"orders","comparison":"<=","threshold":4,"window":"1h"}`, "4", true, ""},
		{`{"name":"mug_adds","metric":"events","type":"add_to_cart","product_id":"p1","comparison":">=","threshold":5,"window":"1h"}`, "5", true, "p1"},
		{`{"name":"mug_revenue","metric":"revenue","currency":"EUR","product_id":"p1","comparison":">","threshold":"35","window":"1h"}`, "35.60 EUR", true, "p1"},
		{`{"name":"kitchen","metric":"events","category":"kitchen","comparison":">=","threshold":8,"window":"1h"}`, "8", true, "kitchen"},
		{`{"name":"kitchen_adds","metric":"events","type":"add_to_cart","category":"kitchen","comparison":">=","threshold":5,"window":"1h"}`, "5", true, "kitchen"},
		{`{"name":"kitchen_orders","metric":"orders","category":"kitchen","comparison":">=","threshold":3,"window":"1h"}`, "3", true, "kitchen"},
		{`{"name":"sessions","metric":"sessions","comparison":">=","threshold":9,"window":"1h"}`, "9", true, ""},
		{`{"name":"conversion","metric":"conversion_rate","comparison":"<","threshold":50,"window":"1h"}`, "44.44 %", true, ""},
		{`{"name":"needs_sample","metric":"events","comparison":">=","threshold":1,"window":"1h","min_sample":10}`, "", false, ""},
	} {
		t.Run(tc.js, func(t *testing.T) {
			th := threshold(t, tc.js)
			rule, err := th.Rule()
			require.NoError(t, err)
			s := memStore()
			appendAll(t, s, events)
			clock := newClock(at)
			eng := newEngine(t, s, clock, rule)
			res, err := eng.Evaluate(ctx(t), shop, time.UTC)
			require.NoError(t, err)
			if !tc.fires {
				require.Empty(t, res.Raised)
				return
			}
			require.Len(t, res.Raised, 1)
			in := res.Raised[0]
			require.Equal(t, th.Name, in.Rule)
			require.Equal(t, tc.subject, in.Subject)
			e := decode[insights.ThresholdEvidence](t, in)
			require.Equal(t, tc.value, e.Value)
			require.Equal(t, time.Hour, e.Window.End.Sub(e.Window.Start))
			// The sample is the window's events, or its sessions: here
			// every event is a visitor of its own, so both are the same.
			require.Equal(t, int64(len(scan(t, s, e.Window.Start, e.Window.End))), e.Sample)
			require.Contains(t, in.Message, tc.value)
			if th.Severity != "" {
				require.Equal(t, th.Severity, in.Severity)
			}

			clock.add(2 * time.Hour)
			res, err = eng.Evaluate(ctx(t), shop, time.UTC)
			require.NoError(t, err)
			require.Len(t, res.Resolved, 1, fmt.Sprint(res))
		})
	}
}

// A revenue threshold compares minor units exactly: 2^53+1 yen reaches a
// threshold of 2^53+1 yen and not one of 2^53+2, though float64 rounds it
// to 2^53.
func TestThresholdRuleComparesRevenueExactlyBeyondFloat64(t *testing.T) {
	s := memStore()
	appendAll(t, s, []tracking.Event{ev(tracking.PurchaseCompleted, t0.Add(-time.Minute), paid("9007199254740993", "JPY"))})
	for _, tc := range []struct {
		threshold string
		fires     bool
	}{
		{"9007199254740994", false},
		{"9007199254740993", true},
	} {
		th := threshold(t, `{"name":"big","metric":"revenue","currency":"JPY","comparison":">=","threshold":"`+tc.threshold+`","window":"1h"}`)
		rule, err := th.Rule()
		require.NoError(t, err)
		res, err := newEngine(t, s, newClock(t0), rule).Evaluate(ctx(t), shop, time.UTC)
		require.NoError(t, err)
		require.Equal(t, tc.fires, len(res.Raised) == 1, "threshold %s: %v", tc.threshold, res.Raised)
	}
}
