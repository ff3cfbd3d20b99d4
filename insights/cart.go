package insights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
)

// AbandonmentEvidence is the evidence of cart_abandonment.
type AbandonmentEvidence struct {
	CartSessions int64 `json:"cart_sessions"`
	Abandoned    int64 `json:"abandoned"`
	// Rate is Abandoned ÷ CartSessions in percent, as Stats'
	// cart_abandonment_rate.
	Rate            float64                      `json:"rate"`
	Products        []analytics.AbandonedProduct `json:"products"`
	Window          Window                       `json:"window"`
	MaxRate         float64                      `json:"max_rate"`
	MinCartSessions int64                        `json:"min_cart_sessions"`
}

// CartAbandonmentOptions configure CartAbandonment. The zero value warns
// when more than 75 % of at least 20 sessions with a cart in the last 24
// hours (ending on the hour) did not buy, naming the 5 products most
// often left behind; cooldown 24 hours.
type CartAbandonmentOptions struct {
	// Window (default 24h) and Slide (default 1h).
	Window, Slide time.Duration
	// MaxRate is the abandonment rate, in percent, above which it warns
	// (default 75).
	MaxRate float64
	// MinCartSessions (default 20) is the minimum sample.
	MinCartSessions int64
	// Products is how many abandoned products it names (default 5).
	Products int
	// Cooldown (default 24h).
	Cooldown time.Duration
}

func (o CartAbandonmentOptions) withDefaults() (CartAbandonmentOptions, error) {
	err := errors.Join(positive("Window", o.Window), positive("Slide", o.Slide), nonNegative("MinCartSessions", o.MinCartSessions),
		nonNegative("Products", int64(o.Products)), positive("Cooldown", o.Cooldown))
	if o.MaxRate < 0 || o.MaxRate > 100 {
		err = errors.Join(err, errors.New("MaxRate must be between 0 and 100"))
	}
	if o.Products > analytics.MaxLimit {
		err = errors.Join(err, fmt.Errorf("Products must be at most %d", analytics.MaxLimit))
	}
	if err != nil {
		return o, fmt.Errorf("insights: cart_abandonment: %w", err)
	}
	o.Window = or(o.Window, 24*time.Hour)
	o.Slide = or(o.Slide, time.Hour)
	o.MaxRate = or(o.MaxRate, 75)
	o.MinCartSessions = or(o.MinCartSessions, 20)
	o.Products = or(o.Products, 5)
	o.Cooldown = or(o.Cooldown, 24*time.Hour)
	return o, nil
}

type cartAbandonment struct{ o CartAbandonmentOptions }

// CartAbandonment is the rule cart_abandonment: too many carts left
// without a purchase, with the products most often in them.
func CartAbandonment(o CartAbandonmentOptions) (Rule, error) {
	o, err := o.withDefaults()
	return cartAbandonment{o}, err
}

func (cartAbandonment) Name() string { return "cart_abandonment" }
func (r cartAbandonment) Description() string {
	return fmt.Sprintf("More than %v %% of at least %d sessions with a cart in %s did not buy", r.o.MaxRate, r.o.MinCartSessions, words(r.o.Window))
}
func (r cartAbandonment) Cooldown() time.Duration { return r.o.Cooldown }

func (r cartAbandonment) Evaluate(ctx context.Context, env Env) ([]Insight, error) {
	from, to := slideWindow(env.Now, r.o.Window, r.o.Slide)
	res, err := analytics.CartAbandonment(ctx, env.Store, env.query(from, to), analytics.CartAbandonmentOptions{Limit: r.o.Products})
	if err != nil || res.CartSessions < r.o.MinCartSessions || res.Rate <= r.o.MaxRate {
		return nil, err
	}
	names := make([]string, len(res.Products))
	for i, p := range res.Products {
		names[i] = fmt.Sprintf("%s (%d)", productName(analytics.Product{ProductID: p.ProductID, ProductName: p.ProductName}), p.Sessions)
	}
	msg := fmt.Sprintf("%d of %d sessions that added to a cart between %s and %s did not buy (%v %%).",
		res.Abandoned, res.CartSessions, clock(from, env.loc()), clock(to, env.loc()), res.Rate)
	if len(names) > 0 {
		msg += " Most often left behind: " + strings.Join(names, ", ") + "."
	}
	msg += " Look at shipping costs, payment options and the checkout's length."
	return only(finding(env, r.Name(), "", Warning, from, to, fmt.Sprintf("%v %% of carts abandoned", res.Rate), msg,
		AbandonmentEvidence{CartSessions: res.CartSessions, Abandoned: res.Abandoned, Rate: res.Rate, Products: res.Products,
			Window: window(from, to), MaxRate: r.o.MaxRate, MinCartSessions: r.o.MinCartSessions}))
}

// words says a duration as people do: "10 minutes", "an hour", "24 hours".
func words(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "an hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Minute:
		return "a minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}

// unit says a duration after "the previous": "hour", "2 hours".
func unit(d time.Duration) string {
	switch d {
	case time.Hour:
		return "hour"
	case time.Minute:
		return "minute"
	case 24 * time.Hour:
		return "day"
	}
	return words(d)
}

// Builtin returns the built-in rules with their default options:
// high_interest_no_purchase, flash_sale, cart_conversion,
// cart_abandonment, sales_pulse, revenue_drop, conversion_drop,
// trending_product and refund_spike.
func Builtin() []Rule {
	must := func(r Rule, err error) Rule {
		if err != nil {
			panic(err) // the zero options are valid
		}
		return r
	}
	return []Rule{
		must(HighInterest(HighInterestOptions{})),
		must(FlashSale(FlashSaleOptions{})),
		must(CartConversion(CartConversionOptions{})),
		must(CartAbandonment(CartAbandonmentOptions{})),
		must(SalesPulse(SalesPulseOptions{})),
		must(RevenueDrop(DropOptions{})),
		must(ConversionDrop(DropOptions{})),
		must(Trending(TrendingOptions{})),
		must(RefundSpike(RefundSpikeOptions{})),
	}
}
