package insights_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/shoplytics/shoplytics/insights"
)

// FuzzThresholdRule decodes arbitrary threshold rules, as a -config file
// holds them: decoding and checking never panic, and a rule that checks
// evaluates on a store without panicking or failing.
func FuzzThresholdRule(f *testing.F) {
	for _, seed := range []string{
		`{"name":"few","metric":"orders","comparison":"<","threshold":3,"window":"2h"}`,
		`{"name":"r","metric":"revenue","currency":"EUR","category":"shoes","comparison":">=","threshold":"10.50","window":"1d","slide":"1h"}`,
		`{"name":"p","metric":"events","type":"view","product_id":"p1","comparison":">","threshold":1e3,"window":"10m","min_sample":5,"severity":"critical","cooldown":"7d"}`,
		`{"name":"c","metric":"conversion_rate","comparison":"<=","threshold":"2.5","window":"90s"}`,
		`{"window":"-5m"}`, `{"threshold":true}`, `[]`,
	} {
		f.Add(seed)
	}
	s := memStore()
	f.Fuzz(func(t *testing.T, js string) {
		var th insights.Threshold
		if json.Unmarshal([]byte(js), &th) != nil {
			return
		}
		r, err := th.Rule()
		if err != nil {
			var fe *insights.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error without a field: %v", err)
			}
			return
		}
		eng, err := insights.NewEngine(s, insights.EngineOptions{Rules: []insights.Rule{r}, Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Evaluate(ctx(t), shop, nil); err != nil {
			t.Fatalf("%s: %v", js, err)
		}
	})
}
