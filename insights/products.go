package insights

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
)

// The product rules read analytics.TopProducts over their window: views
// and adds are product_viewed and add_to_cart events naming the product,
// purchases the orders that sold it.

// DemandEvidence is the evidence of high_interest_no_purchase and
// flash_sale: a product's figures in the window and the thresholds.
type DemandEvidence struct {
	ProductID    string `json:"product_id"`
	ProductName  string `json:"product_name"`
	Views        int64  `json:"views"`
	Adds         int64  `json:"adds"`
	Purchases    int64  `json:"purchases"`
	Window       Window `json:"window"`
	MinViews     int64  `json:"min_views"`
	MaxPurchases int64  `json:"max_purchases"`
}

// productName says a product in words: its name and id, or its id.
func productName(p analytics.Product) string {
	if p.ProductName != "" {
		return fmt.Sprintf("%q (%s)", p.ProductName, p.ProductID)
	}
	return p.ProductID
}

func positive(field string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s must not be negative", field)
	}
	return nil
}

func nonNegative(field string, n int64) error {
	if n < 0 {
		return fmt.Errorf("%s must not be negative", field)
	}
	return nil
}

// products ranks every product of the window by views (up to
// analytics.MaxLimit of them).
func products(ctx context.Context, env Env, from, to time.Time, by analytics.ProductRank) ([]analytics.Product, error) {
	res, err := analytics.TopProducts(ctx, env.Store, env.query(from, to), analytics.TopProductsOptions{By: by, Limit: analytics.MaxLimit})
	if err != nil {
		return nil, err
	}
	return res.Products, nil
}

// productFindings gathers the findings find makes of the products of
// [from, to) ranked by rank (ByViews or ByAdds), from the top down to the
// last whose ranked figure reaches least, the rule's minimum sample; find
// answers false to pass a product over.
func productFindings(ctx context.Context, env Env, from, to time.Time, rank analytics.ProductRank, least int64,
	find func(p analytics.Product) (Insight, bool, error)) ([]Insight, error) {
	ps, err := products(ctx, env, from, to, rank)
	if err != nil {
		return nil, err
	}
	var out []Insight
	for _, p := range ps {
		figure := p.Views
		if rank == analytics.ByAdds {
			figure = p.Adds
		}
		if figure < least {
			break // the rest rank lower
		}
		in, ok, err := find(p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, in)
		}
	}
	return out, nil
}

// salesTitle is a demand rule's title for p: none when p sold nothing,
// few when it sold up to the rule's MaxPurchases, so the title agrees with
// the purchases the message and the evidence give.
func salesTitle(p analytics.Product, none, few string) string {
	if p.Purchases == 0 {
		return none + productName(p)
	}
	return few + productName(p)
}

// demandEvidence is the evidence of a demand rule's finding about p.
func demandEvidence(p analytics.Product, from, to time.Time, minViews, maxPurchases int64) DemandEvidence {
	return DemandEvidence{ProductID: p.ProductID, ProductName: p.ProductName, Views: p.Views, Adds: p.Adds, Purchases: p.Purchases,
		Window: window(from, to), MinViews: minViews, MaxPurchases: maxPurchases}
}

// HighInterestOptions configure HighInterest. The zero value watches the
// last 24 hours (ending on the hour) for products viewed at least 50 times
// and never bought, with a cooldown of 24 hours.
type HighInterestOptions struct {
	// Window is how far back it looks (default 24h); Slide how often the
	// window moves on (default 1h).
	Window, Slide time.Duration
	// MinViews is the views a product needs (default 50): the minimum
	// sample, so a handful of views never raises an alarm.
	MinViews int64
	// MaxPurchases is the most purchases a product may have and still
	// count as not selling (default 0).
	MaxPurchases int64
	// Cooldown (default 24h).
	Cooldown time.Duration
}

func (o HighInterestOptions) withDefaults() (HighInterestOptions, error) {
	if err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinViews", o.MinViews),
		nonNegative("MaxPurchases", o.MaxPurchases), positive("Cooldown", o.Cooldown)); err != nil {
		return o, fmt.Errorf("insights: high_interest_no_purchase: %w", err)
	}
	o.Window = or(o.Window, 24*time.Hour)
	o.Slide = or(o.Slide, time.Hour)
	o.MinViews = or(o.MinViews, 50)
	o.Cooldown = or(o.Cooldown, 24*time.Hour)
	return o, nil
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

type highInterest struct{ o HighInterestOptions }

// HighInterest is the rule high_interest_no_purchase: a product with many
// views and no (or few) purchases in the window, one warning per product.
func HighInterest(o HighInterestOptions) (Rule, error) {
	o, err := o.withDefaults()
	return highInterest{o}, err
}

func (highInterest) Name() string { return "high_interest_no_purchase" }
func (r highInterest) Description() string {
	return fmt.Sprintf("A product viewed at least %d times in %s with at most %d purchases", r.o.MinViews, words(r.o.Window), r.o.MaxPurchases)
}
func (r highInterest) Cooldown() time.Duration { return r.o.Cooldown }

func (r highInterest) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	return productFindings(ctx, env, from, to, analytics.ByViews, r.o.MinViews, func(p analytics.Product) (Insight, bool, error) {
		if p.Purchases > r.o.MaxPurchases {
			return Insight{}, false, nil
		}
		in, err := finding(env, r.Name(), p.ProductID, Warning, from, to,
			salesTitle(p, "Many views, no sales: ", "Many views, few sales: "),
			fmt.Sprintf("%s was viewed %d times and added to a cart %d times between %s and %s, but bought %d times. Check its price, stock, photos and description.",
				productName(p), p.Views, p.Adds, clock(from, env.loc()), clock(to, env.loc()), p.Purchases),
			demandEvidence(p, from, to, r.o.MinViews, r.o.MaxPurchases))
		return in, true, err
	})
}

// FlashSaleOptions configure FlashSale. The zero value is what shops in
// the field use: at least 100 views and at most 5 purchases of one product
// in a 10-minute window sliding every 5 minutes, cooldown 1 hour.
type FlashSaleOptions struct {
	// Window (default 10m) and Slide (default 5m).
	Window, Slide time.Duration
	// MinViews (default 100) is the crowd that counts as a spike.
	MinViews int64
	// MaxPurchases (default 5): more than this and the crowd is buying.
	MaxPurchases int64
	// Cooldown (default 1h).
	Cooldown time.Duration
}

func (o FlashSaleOptions) withDefaults() (FlashSaleOptions, error) {
	if err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinViews", o.MinViews),
		nonNegative("MaxPurchases", o.MaxPurchases), positive("Cooldown", o.Cooldown)); err != nil {
		return o, fmt.Errorf("insights: flash_sale: %w", err)
	}
	o.Window = or(o.Window, 10*time.Minute)
	o.Slide = or(o.Slide, 5*time.Minute)
	o.MinViews = or(o.MinViews, 100)
	o.MaxPurchases = or(o.MaxPurchases, 5)
	o.Cooldown = or(o.Cooldown, time.Hour)
	return o, nil
}

type flashSale struct{ o FlashSaleOptions }

// FlashSale is the rule flash_sale: a sudden crowd on one product that is
// not buying, critical, naming the product.
func FlashSale(o FlashSaleOptions) (Rule, error) {
	o, err := o.withDefaults()
	return flashSale{o}, err
}

func (flashSale) Name() string { return "flash_sale" }
func (r flashSale) Description() string {
	return fmt.Sprintf("A demand spike without conversion: at least %d views and at most %d purchases of one product in %s, sliding every %s",
		r.o.MinViews, r.o.MaxPurchases, words(r.o.Window), words(r.o.Slide))
}
func (r flashSale) Cooldown() time.Duration { return r.o.Cooldown }

func (r flashSale) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	return productFindings(ctx, env, from, to, analytics.ByViews, r.o.MinViews, func(p analytics.Product) (Insight, bool, error) {
		if p.Purchases > r.o.MaxPurchases {
			return Insight{}, false, nil
		}
		in, err := finding(env, r.Name(), p.ProductID, Critical, from, to,
			salesTitle(p, "Demand spike without sales: ", "Demand spike, few sales: "),
			fmt.Sprintf("%s drew %d views in %s (%s to %s) but only %d purchases and %d cart adds. A crowd is there now: check stock, price and the checkout.",
				productName(p), p.Views, words(r.o.Window), clock(from, env.loc()), clock(to, env.loc()), p.Purchases, p.Adds),
			demandEvidence(p, from, to, r.o.MinViews, r.o.MaxPurchases))
		return in, true, err
	})
}

// CartConversionEvidence is the evidence of cart_conversion.
type CartConversionEvidence struct {
	ProductID   string `json:"product_id"`
	ProductName string `json:"product_name"`
	Adds        int64  `json:"adds"`
	Purchases   int64  `json:"purchases"`
	// ConversionRate is purchases ÷ adds, a percentage with two decimals.
	ConversionRate    float64 `json:"conversion_rate"`
	Window            Window  `json:"window"`
	MinAdds           int64   `json:"min_adds"`
	MaxConversionRate float64 `json:"max_conversion_rate"`
}

// CartConversionOptions configure CartConversion. The zero value flags a
// product added to carts at least 20 times in the last 24 hours whose
// purchases are at most 10 % of its adds, cooldown 24 hours.
type CartConversionOptions struct {
	// Window (default 24h) and Slide (default 1h).
	Window, Slide time.Duration
	// MinAdds (default 20) is the minimum sample.
	MinAdds int64
	// MaxConversionRate is the highest purchases ÷ adds, in percent, that
	// counts as an opportunity (default 10).
	MaxConversionRate float64
	// Cooldown (default 24h).
	Cooldown time.Duration
}

func (o CartConversionOptions) withDefaults() (CartConversionOptions, error) {
	err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinAdds", o.MinAdds),
		positive("Cooldown", o.Cooldown))
	if o.MaxConversionRate < 0 || o.MaxConversionRate > 100 {
		err = errors.Join(err, errors.New("MaxConversionRate must be between 0 and 100"))
	}
	if err != nil {
		return o, fmt.Errorf("insights: cart_conversion: %w", err)
	}
	o.Window = or(o.Window, 24*time.Hour)
	o.Slide = or(o.Slide, time.Hour)
	o.MinAdds = or(o.MinAdds, 20)
	o.MaxConversionRate = or(o.MaxConversionRate, 10)
	o.Cooldown = or(o.Cooldown, 24*time.Hour)
	return o, nil
}

type cartConversion struct{ o CartConversionOptions }

// CartConversion is the rule cart_conversion: a product people put in
// their carts and then do not buy, a warning per product.
func CartConversion(o CartConversionOptions) (Rule, error) {
	o, err := o.withDefaults()
	return cartConversion{o}, err
}

func (cartConversion) Name() string { return "cart_conversion" }
func (r cartConversion) Description() string {
	return fmt.Sprintf("A product added to carts at least %d times in %s with purchases at most %v %% of adds", r.o.MinAdds, words(r.o.Window), r.o.MaxConversionRate)
}
func (r cartConversion) Cooldown() time.Duration { return r.o.Cooldown }

func (r cartConversion) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	return productFindings(ctx, env, from, to, analytics.ByAdds, r.o.MinAdds, func(p analytics.Product) (Insight, bool, error) {
		rate := percent(p.Purchases, p.Adds)
		if rate > r.o.MaxConversionRate {
			return Insight{}, false, nil
		}
		in, err := finding(env, r.Name(), p.ProductID, Warning, from, to,
			"Added to carts, rarely bought: "+productName(p),
			fmt.Sprintf("%s was added to a cart %d times between %s and %s and bought %d times (%v %% of adds). Shipping costs, a coupon or a reminder e-mail may win these carts back.",
				productName(p), p.Adds, clock(from, env.loc()), clock(to, env.loc()), p.Purchases, rate),
			CartConversionEvidence{ProductID: p.ProductID, ProductName: p.ProductName, Adds: p.Adds, Purchases: p.Purchases,
				ConversionRate: rate, Window: window(from, to), MinAdds: r.o.MinAdds, MaxConversionRate: r.o.MaxConversionRate})
		return in, true, err
	})
}

// TrendingEvidence is the evidence of trending_product.
type TrendingEvidence struct {
	ProductID     string `json:"product_id"`
	ProductName   string `json:"product_name"`
	Views         int64  `json:"views"`
	PreviousViews int64  `json:"previous_views"`
	// GrowthPercent is (views − previous) ÷ previous in percent, two
	// decimals; null when the previous window had no views.
	GrowthPercent    *float64 `json:"growth_percent"`
	Window           Window   `json:"window"`
	PreviousWindow   Window   `json:"previous_window"`
	MinViews         int64    `json:"min_views"`
	MinGrowthPercent int64    `json:"min_growth_percent"`
}

// TrendingOptions configure Trending. The zero value compares the last
// hour with the hour before (windows sliding every 5 minutes) and flags a
// product with at least 30 views and 200 % more than before (three
// times), cooldown 6 hours.
type TrendingOptions struct {
	// Window (default 1h) is the length of both windows; Slide (default
	// 5m) how often they move on.
	Window, Slide time.Duration
	// MinViews (default 30) in the current window is the minimum sample.
	MinViews int64
	// MinGrowthPercent (default 200) is the growth over the previous
	// window that counts as trending.
	MinGrowthPercent int64
	// Cooldown (default 6h).
	Cooldown time.Duration
}

func (o TrendingOptions) withDefaults() (TrendingOptions, error) {
	if err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinViews", o.MinViews),
		nonNegative("MinGrowthPercent", o.MinGrowthPercent), positive("Cooldown", o.Cooldown)); err != nil {
		return o, fmt.Errorf("insights: trending_product: %w", err)
	}
	o.Window = or(o.Window, time.Hour)
	o.Slide = or(o.Slide, 5*time.Minute)
	o.MinViews = or(o.MinViews, 30)
	o.MinGrowthPercent = or(o.MinGrowthPercent, 200)
	o.Cooldown = or(o.Cooldown, 6*time.Hour)
	return o, nil
}

type trending struct{ o TrendingOptions }

// Trending is the rule trending_product: a product whose views grow fast
// against the previous window, info.
func Trending(o TrendingOptions) (Rule, error) {
	o, err := o.withDefaults()
	return trending{o}, err
}

func (trending) Name() string { return "trending_product" }
func (r trending) Description() string {
	return fmt.Sprintf("A product with at least %d views in %s and %d %% more than in the previous %s", r.o.MinViews, words(r.o.Window), r.o.MinGrowthPercent, unit(r.o.Window))
}
func (r trending) Cooldown() time.Duration { return r.o.Cooldown }

func (r trending) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	prevFrom := from.Add(-r.o.Window)
	before, err := products(ctx, env, prevFrom, from, analytics.ByViews)
	if err != nil {
		return nil, err
	}
	prev := map[string]int64{}
	for _, p := range before {
		prev[p.ProductID] = p.Views
	}
	return productFindings(ctx, env, from, to, analytics.ByViews, r.o.MinViews, func(p analytics.Product) (Insight, bool, error) {
		pv := prev[p.ProductID]
		// views ≥ previous × (1 + growth): in integers.
		if pv*(100+r.o.MinGrowthPercent) > p.Views*100 {
			return Insight{}, false, nil
		}
		ev := TrendingEvidence{ProductID: p.ProductID, ProductName: p.ProductName, Views: p.Views, PreviousViews: pv,
			Window: window(from, to), PreviousWindow: window(prevFrom, from), MinViews: r.o.MinViews, MinGrowthPercent: r.o.MinGrowthPercent}
		growth := "against none"
		if pv > 0 {
			g := percent(p.Views-pv, pv)
			ev.GrowthPercent = &g
			growth = fmt.Sprintf("up %v %% from %d", g, pv)
		}
		in, err := finding(env, r.Name(), p.ProductID, Info, from, to,
			"Trending: "+productName(p),
			fmt.Sprintf("%s had %d views between %s and %s, %s in the previous %s. Make sure it is in stock and easy to find.",
				productName(p), p.Views, clock(from, env.loc()), clock(to, env.loc()), growth, unit(r.o.Window)),
			ev)
		return in, true, err
	})
}

// percent is num ÷ den as a percentage rounded half-up to two decimals,
// in integers as analytics computes its rates; 0 when den is 0.
func percent(num, den int64) float64 {
	if den == 0 {
		return 0
	}
	return float64(divRound(num*10000, den)) / 100
}

func divRound(total, n int64) int64 {
	q, r := total/n, total%n
	if r < 0 {
		r = -r
	}
	if r >= n-r {
		if total < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}
