package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// Threshold is a rule defined as data, so a shop adds a rule without
// writing Go (the example server reads them from its configuration file,
// under "insights": {"rules": [...]}): a metric over a window, optionally
// narrowed by event type, product or category, compared with a threshold.
// It raises one insight about the shop (subject: the product or category
// when it names one) while the comparison holds and the window has its
// minimum sample. Its JSON form uses the field names below; durations are
// Go's ("90s", "10m", "2h") or whole days ("7d").
type Threshold struct {
	// Name is the rule's name: lowercase snake_case, unique in the set.
	Name string `json:"name"`
	// Description says what it watches (default: made from the fields).
	Description string `json:"description,omitempty"`
	// Metric is what is measured over the window:
	//   - events: events, of Type when set (all types otherwise);
	//   - orders: purchase_completed events;
	//   - revenue: the orders' totals in Currency (required);
	//   - sessions, users: as in Stats;
	//   - conversion_rate, cart_abandonment_rate, bounce_rate: as in
	//     Stats, percentages.
	// With ProductID or Category, events counts product_viewed,
	// add_to_cart or purchase_completed (Type required for a product),
	// orders and revenue the orders that sold it; the session metrics
	// take no product or category.
	Metric string `json:"metric"`
	// Type, ProductID and Category narrow the events counted.
	Type      string `json:"type,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Category  string `json:"category,omitempty"`
	// Currency of revenue, ISO 4217.
	Currency string `json:"currency,omitempty"`
	// Comparison is one of >, >=, <, <= (value Comparison threshold).
	Comparison string `json:"comparison"`
	// Threshold is a number (a JSON number or string): a whole count, a
	// percentage for rates, an amount such as "100.00" for revenue.
	Threshold Number `json:"threshold"`
	// Window is how far back it looks (required); Slide how often the
	// window moves on (default 5m).
	Window Duration `json:"window"`
	Slide  Duration `json:"slide,omitempty"`
	// MinSample is the least the window must hold before the rule speaks:
	// events of the shop for counts and revenue, sessions for the session
	// metrics (default 1).
	MinSample int64 `json:"min_sample,omitempty"`
	// Severity is info, warning (default) or critical.
	Severity string `json:"severity,omitempty"`
	// Cooldown (default: the engine's).
	Cooldown Duration `json:"cooldown,omitempty"`
}

// Number is a decimal given as a JSON number or string.
type Number string

// UnmarshalJSON takes 12, 12.5 or "12.50".
func (n *Number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = Number(s)
		return nil
	}
	var x json.Number
	if err := json.Unmarshal(b, &x); err != nil {
		return errors.New("must be a number")
	}
	*n = Number(x.String())
	return nil
}

// Duration is a time.Duration written as Go writes it ("10m") or in whole
// days ("7d").
type Duration time.Duration

// ParseDuration reads Go's durations and whole days ("7d").
func ParseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("%q is not a duration such as 10m, 2h or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 10m, 2h or 7d", s)
	}
	return d, nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be a duration string such as \"10m\"")
	}
	v, err := ParseDuration(s)
	*d = Duration(v)
	return err
}

// MarshalJSON writes the duration as Go does.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// FieldError is an invalid field of a Threshold, named as in its JSON.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var thresholdMetrics = map[string]bool{"events": true, "orders": true, "revenue": true, "sessions": true, "users": true,
	"conversion_rate": true, "cart_abandonment_rate": true, "bounce_rate": true}

func sessionMetric(m string) bool {
	return m == "sessions" || m == "users" || m == "conversion_rate" || m == "cart_abandonment_rate" || m == "bounce_rate"
}

// thresholdRule is a checked Threshold.
type thresholdRule struct {
	t       Threshold
	typ     string
	limit   float64        // counts and rates
	money   tracking.Money // revenue
	window  time.Duration
	slide   time.Duration
	compare func(a, b float64) bool
}

// Rule checks the threshold and returns it as a Rule; the error is a
// *FieldError naming the field at fault.
func (t Threshold) Rule() (Rule, error) {
	r := thresholdRule{t: t, window: time.Duration(t.Window), slide: time.Duration(t.Slide)}
	if err := checkName(t.Name); err != nil {
		return nil, fieldErr("name", "%s", strings.TrimPrefix(err.Error(), "rule name "))
	}
	if !thresholdMetrics[t.Metric] {
		return nil, fieldErr("metric", "%q is not events, orders, revenue, sessions, users, conversion_rate, cart_abandonment_rate or bounce_rate", t.Metric)
	}
	if t.Type != "" {
		r.typ = tracking.CanonicalType(t.Type)
		if !tracking.ValidType(r.typ) {
			return nil, fieldErr("type", "%q is not an event type", t.Type)
		}
		if t.Metric != "events" {
			return nil, fieldErr("type", "only metric events takes a type")
		}
	}
	if t.ProductID != "" && t.Category != "" {
		return nil, fieldErr("category", "a rule names a product or a category, not both")
	}
	narrowed := t.ProductID != "" || t.Category != ""
	if narrowed && sessionMetric(t.Metric) {
		return nil, fieldErr("metric", "%s takes no product_id or category", t.Metric)
	}
	if narrowed && t.Metric == "events" {
		ok := r.typ == tracking.ProductViewed || r.typ == tracking.AddToCart || r.typ == tracking.PurchaseCompleted ||
			r.typ == "" && t.Category != ""
		if !ok {
			return nil, fieldErr("type", "with product_id, type must be product_viewed, add_to_cart or purchase_completed (with category, it may also be empty)")
		}
	}
	switch t.Comparison {
	case ">":
		r.compare = func(a, b float64) bool { return a > b }
	case ">=":
		r.compare = func(a, b float64) bool { return a >= b }
	case "<":
		r.compare = func(a, b float64) bool { return a < b }
	case "<=":
		r.compare = func(a, b float64) bool { return a <= b }
	default:
		return nil, fieldErr("comparison", "%q is not >, >=, < or <=", t.Comparison)
	}
	if t.Threshold == "" {
		return nil, fieldErr("threshold", "is required")
	}
	if t.Metric == "revenue" {
		c := strings.ToUpper(t.Currency)
		if !tracking.ValidCurrency(c) {
			return nil, fieldErr("currency", "revenue needs an ISO 4217 currency, not %q", t.Currency)
		}
		m, err := tracking.ParseMoney(string(t.Threshold), c)
		if err != nil {
			return nil, fieldErr("threshold", "%q is not an amount of %s: %v", string(t.Threshold), c, err)
		}
		r.money, r.t.Currency = m, c
	} else {
		if t.Currency != "" {
			return nil, fieldErr("currency", "only metric revenue takes a currency")
		}
		v, err := strconv.ParseFloat(string(t.Threshold), 64)
		if err != nil || v < 0 {
			return nil, fieldErr("threshold", "%q is not a number of at least 0", string(t.Threshold))
		}
		r.limit = v
	}
	if r.window <= 0 {
		return nil, fieldErr("window", "is required: a positive duration such as \"1h\"")
	}
	if r.slide < 0 || r.slide > r.window {
		return nil, fieldErr("slide", "must be positive and at most the window")
	}
	r.slide = or(r.slide, 5*time.Minute)
	if t.MinSample < 0 {
		return nil, fieldErr("min_sample", "must not be negative")
	}
	r.t.MinSample = or(t.MinSample, 1)
	r.t.Severity = or(t.Severity, Warning)
	if !ValidSeverity(r.t.Severity) {
		return nil, fieldErr("severity", "%q is not info, warning or critical", t.Severity)
	}
	if t.Cooldown < 0 {
		return nil, fieldErr("cooldown", "must not be negative")
	}
	return r, nil
}

// ThresholdEvidence is the evidence of a threshold rule.
type ThresholdEvidence struct {
	Metric    string `json:"metric"`
	Type      string `json:"type,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Category  string `json:"category,omitempty"`
	Currency  string `json:"currency,omitempty"`
	// Value and Threshold are decimal strings (amounts in the currency's
	// minor unit).
	Value      string `json:"value"`
	Comparison string `json:"comparison"`
	Threshold  string `json:"threshold"`
	Window     Window `json:"window"`
	Sample     int64  `json:"sample"`
	MinSample  int64  `json:"min_sample"`
}

func (r thresholdRule) Name() string { return r.t.Name }

func (r thresholdRule) Description() string {
	if r.t.Description != "" {
		return r.t.Description
	}
	return fmt.Sprintf("%s %s %s over %s", r.what(), r.t.Comparison, r.thresholdText(), words(r.window))
}

func (r thresholdRule) Cooldown() time.Duration { return time.Duration(r.t.Cooldown) }

func (r thresholdRule) what() string {
	w := r.t.Metric
	if r.typ != "" {
		w = r.typ + " " + w
	}
	if r.t.ProductID != "" {
		w += " of product " + r.t.ProductID
	}
	if r.t.Category != "" {
		w += " in category " + r.t.Category
	}
	return w
}

func (r thresholdRule) thresholdText() string {
	if r.t.Metric == "revenue" {
		return r.money.String() + " " + r.money.Currency
	}
	return strconv.FormatFloat(r.limit, 'f', -1, 64)
}

func (r thresholdRule) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.window, r.slide)
	q := env.query(from, to)
	m, err := r.measure(ctx, env, q)
	if err != nil {
		return nil, err
	}
	text, sample := m.text, m.sample
	if sample < r.t.MinSample {
		return nil, nil
	}
	holds := r.compare(m.value, r.limit)
	if r.t.Metric == "revenue" {
		holds = r.compare(float64(cmpMinor(m.minor, r.money.Minor)), 0)
	}
	if !holds {
		return nil, nil
	}
	subject := r.t.ProductID
	if subject == "" {
		subject = r.t.Category
	}
	title := r.t.Description
	if title == "" {
		title = fmt.Sprintf("%s: %s %s %s", r.t.Name, r.what(), r.t.Comparison, r.thresholdText())
	}
	return []Insight{mustFinding(finding(env, r.t.Name, subject, r.t.Severity, from, to, title,
		fmt.Sprintf("%s was %s between %s and %s, which is %s %s (rule %s).", capitalise(r.what()), text,
			clock(from, env.loc()), clock(to, env.loc()), comparisonWords(r.t.Comparison), r.thresholdText(), r.t.Name),
		ThresholdEvidence{Metric: r.t.Metric, Type: r.typ, ProductID: r.t.ProductID, Category: r.t.Category, Currency: r.t.Currency,
			Value: text, Comparison: r.t.Comparison, Threshold: r.thresholdText(), Window: window(from, to),
			Sample: sample, MinSample: r.t.MinSample}))}, nil
}

func mustFinding(in Insight, err error) Insight {
	if err != nil {
		panic(err) // the evidence is plain data
	}
	return in
}

func cmpMinor(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func comparisonWords(c string) string {
	return map[string]string{">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}[c]
}

// measurement is a metric's value over a window: a count or rate as
// value, revenue as minor (exact: money never passes through float64),
// either as text, and the sample it rests on.
type measurement struct {
	value  float64
	minor  int64
	text   string
	sample int64
}

// measure returns the metric over q.
func (r thresholdRule) measure(ctx context.Context, env Env, q analytics.Query) (measurement, error) {
	if sessionMetric(r.t.Metric) {
		st, err := analytics.Stats(ctx, env.Store, q, analytics.StatsOptions{})
		if err != nil {
			return measurement{}, err
		}
		v := map[string]float64{"sessions": float64(st.Sessions), "users": float64(st.Users), "conversion_rate": st.ConversionRate,
			"cart_abandonment_rate": st.CartAbandonmentRate, "bounce_rate": st.BounceRate}[r.t.Metric]
		text := strconv.FormatFloat(v, 'f', -1, 64)
		if strings.HasSuffix(r.t.Metric, "_rate") {
			text += " %"
		}
		return measurement{value: v, text: text, sample: st.Sessions}, nil
	}
	counts, err := analytics.Counts(ctx, env.Store, q)
	if err != nil {
		return measurement{}, err
	}
	var sample int64
	byType := map[string]int64{}
	for _, c := range counts {
		sample += c.Count
		byType[c.EventName] = c.Count
	}
	count := func(v int64) (measurement, error) {
		return measurement{value: float64(v), text: strconv.FormatInt(v, 10), sample: sample}, nil
	}
	amount := func(m tracking.Money) (measurement, error) {
		return measurement{minor: m.Minor, text: m.String() + " " + r.money.Currency, sample: sample}, nil
	}
	switch {
	case r.t.ProductID != "":
		res, err := analytics.TopProducts(ctx, env.Store, q, analytics.TopProductsOptions{Limit: analytics.MaxLimit, Currency: r.t.Currency})
		if err != nil {
			return measurement{}, err
		}
		var p analytics.Product
		for _, x := range res.Products {
			if x.ProductID == r.t.ProductID {
				p = x
			}
		}
		switch {
		case r.t.Metric == "revenue":
			if p.Revenue.Currency == "" {
				p.Revenue.Currency = r.money.Currency
			}
			return amount(p.Revenue)
		case r.t.Metric == "orders" || r.typ == tracking.PurchaseCompleted:
			return count(p.Purchases)
		case r.typ == tracking.AddToCart:
			return count(p.Adds)
		}
		return count(p.Views)
	case r.t.Category != "":
		if r.typ == tracking.ProductViewed || r.typ == tracking.AddToCart {
			// Breakdown counts every type together; count the type's
			// events of the category from a breakdown of it alone.
			return r.categoryEvents(ctx, env, q, sample)
		}
		rows, err := analytics.Breakdown(ctx, env.Store, q, analytics.BreakdownOptions{Dimension: analytics.ByCategory, Limit: analytics.MaxLimit})
		if err != nil {
			return measurement{}, err
		}
		var row analytics.BreakdownRow
		for _, x := range rows {
			if x.Value == r.t.Category {
				row = x
			}
		}
		switch {
		case r.t.Metric == "revenue":
			for _, a := range row.Revenue {
				if a.Currency == r.money.Currency {
					return amount(a.Total)
				}
			}
			return amount(tracking.Money{Currency: r.money.Currency})
		case r.t.Metric == "orders" || r.typ == tracking.PurchaseCompleted:
			return count(row.Purchases)
		}
		return count(row.Events)
	case r.t.Metric == "revenue":
		sales, err := analytics.Sales(ctx, env.Store, q)
		if err != nil {
			return measurement{}, err
		}
		for _, s := range sales {
			if s.Currency == r.money.Currency {
				return amount(s.Total)
			}
		}
		return amount(tracking.Money{Currency: r.money.Currency})
	case r.t.Metric == "orders":
		return count(byType[tracking.PurchaseCompleted])
	case r.typ != "":
		return count(byType[r.typ])
	}
	return count(sample)
}

// categoryEvents counts product_viewed or add_to_cart events of the
// category through the category breakdown of those events' type.
func (r thresholdRule) categoryEvents(ctx context.Context, env Env, q analytics.Query, sample int64) (measurement, error) {
	typed := typeOnly{Store: env.Store, typ: r.typ}
	rows, err := analytics.Breakdown(ctx, typed, q, analytics.BreakdownOptions{Dimension: analytics.ByCategory, Limit: analytics.MaxLimit})
	if err != nil {
		return measurement{}, err
	}
	for _, x := range rows {
		if x.Value == r.t.Category {
			return measurement{value: float64(x.Events), text: strconv.FormatInt(x.Events, 10), sample: sample}, nil
		}
	}
	return measurement{text: "0", sample: sample}, nil
}

// typeOnly shows analytics only the events of one type, so that a
// breakdown counts that type alone. It hides the store's capabilities.
type typeOnly struct {
	store.Store
	typ string
}

func (s typeOnly) Events(ctx context.Context, f store.Filter) iter.Seq2[tracking.Event, error] {
	if len(f.Types) > 0 && !slices.Contains(f.Types, s.typ) {
		return func(func(tracking.Event, error) bool) {}
	}
	f.Types = []string{s.typ}
	return s.Store.Events(ctx, f)
}
