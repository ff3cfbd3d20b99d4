package insights

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/shoplytics/shoplytics/analytics"
	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

// ReportFunnel is the funnel of a daily report, by session.
var ReportFunnel = []string{tracking.ProductViewed, tracking.AddToCart, tracking.CheckoutStarted, tracking.PurchaseCompleted}

// ReportStats is the summary of a report's day, the shape of the read
// API's /api/stats.
type ReportStats struct {
	ShopID string `json:"shop_id"`
	From   string `json:"from"`
	To     string `json:"to"`
	analytics.StatsResult
}

// Report is one shop's day: its figures, top products, funnel and the
// insights raised in it.
type Report struct {
	ShopID string `json:"shop_id"`
	// Date is the local date, YYYY-MM-DD, in TZ.
	Date  string      `json:"date"`
	TZ    string      `json:"tz"`
	Stats ReportStats `json:"stats"`
	// TopProducts are the ten products with the most purchases.
	TopProducts []analytics.Product `json:"top_products"`
	// Funnel is ReportFunnel by session.
	Funnel analytics.FunnelResult `json:"funnel"`
	// Insights are those created that day, resolved or not, newest first.
	Insights []Insight `json:"insights"`
}

// DailyReport makes the report of the local date day (YYYY-MM-DD) in loc
// (nil is UTC) from the store's events, listing the insights keeper (nil:
// none) holds for that day.
func DailyReport(ctx context.Context, s store.Store, keeper store.InsightKeeper, shopID, day string, loc *time.Location) (Report, error) {
	if loc == nil {
		loc = time.UTC
	}
	d, err := time.ParseInLocation(time.DateOnly, day, loc)
	if err != nil {
		return Report{}, &analytics.OptionError{Field: "date", Reason: fmt.Sprintf("%q is not a date YYYY-MM-DD", day)}
	}
	from := d.UTC()
	to := time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc).UTC()
	q := analytics.Query{ShopID: shopID, From: from, To: to, Location: loc}
	r := Report{ShopID: shopID, Date: day, TZ: loc.String(), Insights: []Insight{}}
	st, err := analytics.Stats(ctx, s, q, analytics.StatsOptions{})
	if err != nil {
		return Report{}, fmt.Errorf("insights: report: %w", err)
	}
	r.Stats = ReportStats{ShopID: shopID, From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), StatsResult: st}
	top, err := analytics.TopProducts(ctx, s, q, analytics.TopProductsOptions{By: analytics.ByPurchases})
	if err != nil {
		return Report{}, fmt.Errorf("insights: report: %w", err)
	}
	r.TopProducts = top.Products
	if r.Funnel, err = analytics.Funnel(ctx, s, q, analytics.FunnelOptions{Steps: ReportFunnel, By: analytics.BySession}); err != nil {
		return Report{}, fmt.Errorf("insights: report: %w", err)
	}
	if keeper != nil {
		list, err := keeper.Insights(ctx, store.InsightFilter{ShopID: shopID, Since: from, Until: to, IncludeResolved: true})
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return Report{}, fmt.Errorf("insights: report: %w", err)
		}
		r.Insights = append(r.Insights, list...)
	}
	return r, nil
}

// WriteCSV writes the report as CSV rows of section, name, field, value:
// the stats ("stats", "", field), revenue per currency ("revenue", code,
// field), top products ("product", id, field), funnel steps ("funnel",
// event name, field) and insights ("insight", id, field), money as
// decimal strings.
func (r Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	row := func(section, name, field string, value any) {
		_ = cw.Write([]string{section, name, field, fmt.Sprint(value)})
	}
	_ = cw.Write([]string{"section", "name", "field", "value"})
	row("report", r.ShopID, "date", r.Date)
	row("report", r.ShopID, "tz", r.TZ)
	s := r.Stats
	for _, f := range []struct {
		name string
		v    any
	}{{"events", s.Events}, {"sessions", s.Sessions}, {"users", s.Users}, {"page_views", s.PageViews},
		{"product_views", s.ProductViews}, {"add_to_carts", s.AddToCarts}, {"checkouts", s.Checkouts},
		{"purchases", s.Purchases}, {"conversion_rate", s.ConversionRate}, {"cart_abandonment_rate", s.CartAbandonmentRate},
		{"bounce_rate", s.BounceRate}, {"avg_session_seconds", s.AvgSessionSeconds}, {"top_product_id", s.TopProductID}} {
		row("stats", "", f.name, f.v)
	}
	for _, rv := range s.Revenue {
		row("revenue", rv.Currency, "orders", rv.Orders)
		row("revenue", rv.Currency, "total", rv.Total)
		row("revenue", rv.Currency, "average", rv.Average)
	}
	for _, p := range r.TopProducts {
		row("product", p.ProductID, "name", p.ProductName)
		row("product", p.ProductID, "views", p.Views)
		row("product", p.ProductID, "adds", p.Adds)
		row("product", p.ProductID, "purchases", p.Purchases)
		row("product", p.ProductID, "revenue", p.Revenue)
	}
	for _, st := range r.Funnel.Steps {
		row("funnel", st.EventName, "count", st.Count)
		row("funnel", st.EventName, "conversion_from_start", strconv.FormatFloat(st.ConversionFromStart, 'f', -1, 64))
	}
	for _, in := range r.Insights {
		row("insight", in.ID, "rule", in.Rule)
		row("insight", in.ID, "severity", in.Severity)
		row("insight", in.ID, "subject", in.Subject)
		row("insight", in.ID, "title", in.Title)
		row("insight", in.ID, "created_at", in.CreatedAt.UTC().Format(time.RFC3339Nano))
	}
	cw.Flush()
	return cw.Error()
}
