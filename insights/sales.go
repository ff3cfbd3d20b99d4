package insights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/tracking"
)

// SalesPulseEvidence is the evidence of sales_pulse: one currency's orders
// in the window.
type SalesPulseEvidence struct {
	Currency string `json:"currency"`
	Orders   int64  `json:"orders"`
	// Total and Average are decimal strings in the currency's minor unit.
	Total     string `json:"total"`
	Average   string `json:"average"`
	Window    Window `json:"window"`
	MinOrders int64  `json:"min_orders"`
}

// SalesPulseOptions configure SalesPulse. The zero value reports the
// purchases of the last hour (sliding every 5 minutes) per currency when
// there is at least one, cooldown 1 hour.
type SalesPulseOptions struct {
	// Window (default 1h) and Slide (default 5m).
	Window, Slide time.Duration
	// MinOrders (default 1) a currency needs in the window.
	MinOrders int64
	// Cooldown (default 1h).
	Cooldown time.Duration
}

func (o SalesPulseOptions) withDefaults() (SalesPulseOptions, error) {
	if err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinOrders", o.MinOrders),
		positive("Cooldown", o.Cooldown)); err != nil {
		return o, fmt.Errorf("insights: sales_pulse: %w", err)
	}
	o.Window = or(o.Window, time.Hour)
	o.Slide = or(o.Slide, 5*time.Minute)
	o.MinOrders = or(o.MinOrders, 1)
	o.Cooldown = or(o.Cooldown, time.Hour)
	return o, nil
}

type salesPulse struct{ o SalesPulseOptions }

// SalesPulse is the rule sales_pulse: the recent purchases, one info
// insight per currency (currencies are never added together).
func SalesPulse(o SalesPulseOptions) (Rule, error) {
	o, err := o.withDefaults()
	return salesPulse{o}, err
}

func (salesPulse) Name() string { return "sales_pulse" }
func (r salesPulse) Description() string {
	return fmt.Sprintf("The purchases of the last %s, per currency", words(r.o.Window))
}
func (r salesPulse) Cooldown() time.Duration { return r.o.Cooldown }

func (r salesPulse) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	sales, err := analytics.Sales(ctx, env.Store, env.query(from, to))
	if err != nil {
		return nil, err
	}
	var out []Insight
	for _, s := range sales {
		if s.Orders < r.o.MinOrders {
			continue
		}
		in, err := finding(env, r.Name(), s.Currency, Info, from, to,
			fmt.Sprintf("%d %s in the last %s: %s %s", s.Orders, plural(s.Orders, "order", "orders"), words(r.o.Window), s.Total, s.Currency),
			fmt.Sprintf("Between %s and %s the shop took %d %s in %s worth %s %s, %s %s on average.",
				clock(from, env.loc()), clock(to, env.loc()), s.Orders, plural(s.Orders, "order", "orders"), s.Currency,
				s.Total, s.Currency, s.Average, s.Currency),
			SalesPulseEvidence{Currency: s.Currency, Orders: s.Orders, Total: s.Total.String(), Average: s.Average.String(),
				Window: window(from, to), MinOrders: r.o.MinOrders})
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// PeriodFigures are one period's figures in a comparison with history.
type PeriodFigures struct {
	Window Window `json:"window"`
	// Orders and Total (a decimal string) for revenue_drop.
	Orders int64  `json:"orders,omitempty"`
	Total  string `json:"total,omitempty"`
	// Sessions and ConversionRate for conversion_drop.
	Sessions       int64   `json:"sessions,omitempty"`
	ConversionRate float64 `json:"conversion_rate,omitempty"`
}

// DropEvidence is the evidence of revenue_drop and conversion_drop: today
// so far, the same hours of the same weekday in each earlier week, their
// mean and the drop against it.
type DropEvidence struct {
	// Currency is set for revenue_drop.
	Currency string          `json:"currency,omitempty"`
	Today    PeriodFigures   `json:"today"`
	Baseline []PeriodFigures `json:"baseline"`
	// BaselineMean is the mean total (a decimal string) or conversion rate.
	BaselineMean   string  `json:"baseline_mean"`
	DropPercent    float64 `json:"drop_percent"`
	MinDropPercent int64   `json:"min_drop_percent"`
	Weeks          int     `json:"weeks"`
	MinHours       int     `json:"min_hours"`
	// MinSample is the orders (revenue) or sessions (conversion) every
	// period needs.
	MinSample int64 `json:"min_sample"`
}

// DropOptions configure RevenueDrop and ConversionDrop. The zero value
// compares today so far (from local midnight to the last whole hour, once
// at least 3 hours have passed) with the same hours of the same weekday
// over the last 4 weeks, and warns when today is at least 50 % (revenue)
// or 30 % (conversion) below their mean; every period needs at least 5
// orders (revenue, per currency) or 50 sessions (conversion), so a shop
// with too little history hears nothing. Cooldown 24h.
type DropOptions struct {
	// Weeks of history (default 4).
	Weeks int
	// MinHours of today before it speaks (default 3).
	MinHours int
	// MinDropPercent is the drop below the mean that warns (default 50
	// for revenue, 30 for conversion).
	MinDropPercent int64
	// MinSample is what every period needs (default 5 orders of the
	// currency, or 50 sessions).
	MinSample int64
	// Cooldown (default 24h).
	Cooldown time.Duration
}

func (o DropOptions) withDefaults(rule string, drop, sample int64) (DropOptions, error) {
	err := errors.Join(nonNegative("Weeks", int64(o.Weeks)), nonNegative("MinHours", int64(o.MinHours)),
		nonNegative("MinSample", o.MinSample), positive("Cooldown", o.Cooldown))
	if o.MinDropPercent < 0 || o.MinDropPercent > 100 {
		err = errors.Join(err, errors.New("MinDropPercent must be between 0 and 100"))
	}
	if o.MinHours > 24 {
		err = errors.Join(err, errors.New("MinHours must be at most 24"))
	}
	if err != nil {
		return o, fmt.Errorf("insights: %s: %w", rule, err)
	}
	o.Weeks = or(o.Weeks, 4)
	o.MinHours = or(o.MinHours, 3)
	o.MinDropPercent = or(o.MinDropPercent, drop)
	o.MinSample = or(o.MinSample, sample)
	o.Cooldown = or(o.Cooldown, 24*time.Hour)
	return o, nil
}

// periods returns today so far ([local midnight, the last whole local hour)
// in the zone) and the same local hours of the same weekday in each of the
// weeks before; ok is false before MinHours have passed.
func (o DropOptions) periods(env Env) (today Window, weeks []Window, ok bool) {
	loc := env.loc()
	local := env.Now.In(loc)
	y, m, d := local.Date()
	hours := local.Hour()
	if hours < o.MinHours || hours == 0 {
		return Window{}, nil, false
	}
	span := func(back int) Window {
		// Local times, so a daylight saving change between the weeks
		// keeps the same hours of the clock.
		return window(time.Date(y, m, d-7*back, 0, 0, 0, 0, loc), time.Date(y, m, d-7*back, hours, 0, 0, 0, loc))
	}
	today = span(0)
	for k := 1; k <= o.Weeks; k++ {
		weeks = append(weeks, span(k))
	}
	return today, weeks, true
}

type revenueDrop struct{ o DropOptions }

// RevenueDrop is the rule revenue_drop: today's revenue so far, per
// currency, well below the same hours of the same weekday in the weeks
// before.
func RevenueDrop(o DropOptions) (Rule, error) {
	o, err := o.withDefaults("revenue_drop", 50, 5)
	return revenueDrop{o}, err
}

func (revenueDrop) Name() string { return "revenue_drop" }
func (r revenueDrop) Description() string {
	return fmt.Sprintf("Revenue today so far at least %d %% below the same hours of the same weekday over the last %d weeks, per currency", r.o.MinDropPercent, r.o.Weeks)
}
func (r revenueDrop) Cooldown() time.Duration { return r.o.Cooldown }

func (r revenueDrop) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	today, weeks, ok := r.o.periods(env)
	if !ok {
		return nil, nil
	}
	sales := func(w Window) (map[string]analytics.Revenue, error) {
		rs, err := analytics.Sales(ctx, env.Store, env.query(w.Start, w.End))
		out := map[string]analytics.Revenue{}
		for _, x := range rs {
			out[x.Currency] = x
		}
		return out, err
	}
	now, err := sales(today)
	if err != nil {
		return nil, err
	}
	history := make([]map[string]analytics.Revenue, len(weeks))
	for i, w := range weeks {
		if history[i], err = sales(w); err != nil {
			return nil, err
		}
	}
	var out []Insight
	// The currencies every week of history sold in enough.
	for c := range history[0] {
		var sum int64
		enough := true
		base := make([]PeriodFigures, len(weeks))
		for i, h := range history {
			x := h[c]
			if x.Orders < r.o.MinSample {
				enough = false
				break
			}
			sum += x.Total.Minor
			base[i] = PeriodFigures{Window: weeks[i], Orders: x.Orders, Total: x.Total.String()}
		}
		if !enough {
			continue
		}
		n := int64(len(weeks))
		t := now[c]
		// today ≤ mean × (1 − drop): today × n × 100 ≤ sum × (100 − drop).
		// A history that took nothing has nothing to fall below.
		if sum == 0 || t.Total.Minor*n*100 > sum*(100-r.o.MinDropPercent) {
			continue
		}
		mean := tracking.Money{Minor: divRound(sum, n), Currency: c}
		drop := percent(mean.Minor-t.Total.Minor, mean.Minor)
		total := tracking.Money{Minor: t.Total.Minor, Currency: c}
		in, err := finding(env, r.Name(), c, Warning, today.Start, today.End,
			fmt.Sprintf("Revenue in %s is down %v %% today", c, drop),
			fmt.Sprintf("Today until %s the shop took %s %s in %d %s, %v %% below the %s %s it averaged in the same hours on the last %d %ss. Check the checkout, payments and campaigns.",
				clock(today.End, env.loc()), total, c, t.Orders, plural(t.Orders, "order", "orders"), drop, mean, c, r.o.Weeks,
				today.Start.In(env.loc()).Weekday()),
			DropEvidence{Currency: c, Today: PeriodFigures{Window: today, Orders: t.Orders, Total: total.String()}, Baseline: base,
				BaselineMean: mean.String(), DropPercent: drop, MinDropPercent: r.o.MinDropPercent, Weeks: r.o.Weeks,
				MinHours: r.o.MinHours, MinSample: r.o.MinSample})
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

type conversionDrop struct{ o DropOptions }

// ConversionDrop is the rule conversion_drop: today's conversion rate so
// far (sessions with a purchase ÷ sessions, as Stats, through
// analytics.Conversion) well below the same hours of the same weekday in
// the weeks before.
func ConversionDrop(o DropOptions) (Rule, error) {
	o, err := o.withDefaults("conversion_drop", 30, 50)
	return conversionDrop{o}, err
}

func (conversionDrop) Name() string { return "conversion_drop" }
func (r conversionDrop) Description() string {
	return fmt.Sprintf("Conversion today so far at least %d %% below the same hours of the same weekday over the last %d weeks", r.o.MinDropPercent, r.o.Weeks)
}
func (r conversionDrop) Cooldown() time.Duration { return r.o.Cooldown }

func (r conversionDrop) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	today, weeks, ok := r.o.periods(env)
	if !ok {
		return nil, nil
	}
	figures := func(w Window) (PeriodFigures, error) {
		c, err := analytics.Conversion(ctx, env.Store, env.query(w.Start, w.End))
		return PeriodFigures{Window: w, Sessions: c.Sessions, ConversionRate: c.Rate}, err
	}
	now, err := figures(today)
	if err != nil || now.Sessions < r.o.MinSample {
		return nil, err
	}
	base := make([]PeriodFigures, len(weeks))
	// Rates have two decimals: sum them in hundredths.
	var sum int64
	for i, w := range weeks {
		if base[i], err = figures(w); err != nil {
			return nil, err
		}
		if base[i].Sessions < r.o.MinSample {
			return nil, nil
		}
		sum += hundredths(base[i].ConversionRate)
	}
	n := int64(len(weeks))
	cur := hundredths(now.ConversionRate)
	if sum == 0 || cur*n*100 > sum*(100-r.o.MinDropPercent) {
		return nil, nil
	}
	mean := divRound(sum, n)
	drop := percent(mean-cur, mean)
	meanText := fmt.Sprintf("%d.%02d", mean/100, mean%100)
	return only(finding(env, r.Name(), "", Warning, today.Start, today.End,
		fmt.Sprintf("Conversion is down %v %% today", drop),
		fmt.Sprintf("Today until %s, %v %% of %d sessions bought, %v %% below the %s %% of the same hours on the last %d %ss. Check the checkout, payments and what changed on the site.",
			clock(today.End, env.loc()), now.ConversionRate, now.Sessions, drop, meanText, r.o.Weeks, today.Start.In(env.loc()).Weekday()),
		DropEvidence{Today: now, Baseline: base, BaselineMean: meanText, DropPercent: drop, MinDropPercent: r.o.MinDropPercent,
			Weeks: r.o.Weeks, MinHours: r.o.MinHours, MinSample: r.o.MinSample}))
}

// hundredths is a rate of two decimals as a whole number of hundredths.
func hundredths(rate float64) int64 {
	if rate < 0 {
		return int64(rate*100 - 0.5)
	}
	return int64(rate*100 + 0.5)
}

// RefundEvidence is the evidence of refund_spike.
type RefundEvidence struct {
	Refunds int64  `json:"refunds"`
	Window  Window `json:"window"`
	// Baseline is the refunds of each of the windows before, newest first.
	Baseline []int64 `json:"baseline"`
	// BaselineMean is their mean, two decimals.
	BaselineMean    string `json:"baseline_mean"`
	MinRefunds      int64  `json:"min_refunds"`
	MinRatioPercent int64  `json:"min_ratio_percent"`
}

// RefundSpikeOptions configure RefundSpike. The zero value compares the
// order_refunded events of the last 24 hours (ending on the hour) with
// those of each of the 7 windows of 24 hours before, and warns when there
// are at least 5 and at least 200 % of the mean (twice as many), cooldown
// 24 hours.
type RefundSpikeOptions struct {
	// Window (default 24h) and Slide (default 1h).
	Window, Slide time.Duration
	// Periods of history (default 7).
	Periods int
	// MinRefunds (default 5) is the minimum sample.
	MinRefunds int64
	// MinRatioPercent (default 200) is refunds ÷ mean that counts as a
	// spike.
	MinRatioPercent int64
	// Cooldown (default 24h).
	Cooldown time.Duration
}

func (o RefundSpikeOptions) withDefaults() (RefundSpikeOptions, error) {
	if err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("Periods", int64(o.Periods)),
		nonNegative("MinRefunds", o.MinRefunds), nonNegative("MinRatioPercent", o.MinRatioPercent),
		positive("Cooldown", o.Cooldown)); err != nil {
		return o, fmt.Errorf("insights: refund_spike: %w", err)
	}
	o.Window = or(o.Window, 24*time.Hour)
	o.Slide = or(o.Slide, time.Hour)
	o.Periods = or(o.Periods, 7)
	o.MinRefunds = or(o.MinRefunds, 5)
	o.MinRatioPercent = or(o.MinRatioPercent, 200)
	o.Cooldown = or(o.Cooldown, 24*time.Hour)
	return o, nil
}

type refundSpike struct{ o RefundSpikeOptions }

// RefundSpike is the rule refund_spike: many more refunds than usual.
func RefundSpike(o RefundSpikeOptions) (Rule, error) {
	o, err := o.withDefaults()
	return refundSpike{o}, err
}

func (refundSpike) Name() string { return "refund_spike" }
func (r refundSpike) Description() string {
	return fmt.Sprintf("At least %d refunds in %s and %d %% of the mean of the %d windows before", r.o.MinRefunds, words(r.o.Window), r.o.MinRatioPercent, r.o.Periods)
}
func (r refundSpike) Cooldown() time.Duration { return r.o.Cooldown }

func (r refundSpike) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	count := func(from, to time.Time) (int64, error) {
		q := env.query(from, to)
		q.Location = time.UTC
		cs, err := analytics.Counts(ctx, env.Store, q)
		for _, c := range cs {
			if c.EventName == tracking.OrderRefunded {
				return c.Count, err
			}
		}
		return 0, err
	}
	refunds, err := count(from, to)
	if err != nil || refunds < r.o.MinRefunds {
		return nil, err
	}
	base := make([]int64, r.o.Periods)
	var sum int64
	for k := range base {
		end := from.Add(-time.Duration(k) * r.o.Window)
		if base[k], err = count(end.Add(-r.o.Window), end); err != nil {
			return nil, err
		}
		sum += base[k]
	}
	n := int64(r.o.Periods)
	// refunds ≥ mean × ratio: refunds × n × 100 ≥ sum × ratio.
	if refunds*n*100 < sum*r.o.MinRatioPercent {
		return nil, nil
	}
	mean := divRound(sum*100, n)
	meanText := fmt.Sprintf("%d.%02d", mean/100, mean%100)
	var b strings.Builder
	fmt.Fprintf(&b, "%d orders were refunded between %s and %s, against %s per %s on average over the %d windows before.",
		refunds, clock(from, env.loc()), clock(to, env.loc()), meanText, words(r.o.Window), r.o.Periods)
	b.WriteString(" Look for a faulty product, a delivery problem or a misleading description.")
	return only(finding(env, r.Name(), "", Warning, from, to, fmt.Sprintf("Refund spike: %d refunds", refunds), b.String(),
		RefundEvidence{Refunds: refunds, Window: window(from, to), Baseline: base, BaselineMean: meanText,
			MinRefunds: r.o.MinRefunds, MinRatioPercent: r.o.MinRatioPercent}))
}
