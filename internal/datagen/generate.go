package datagen

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"time"

	"github.com/shoplytics/shoplytics/tracking"
)

// Generate returns the events of the options, in order of receipt. It
// holds them all; Stream hands them over in batches instead. It panics
// when the options are invalid, since its callers (tests, benchmarks) fix
// them in code.
func Generate(o Options) []tracking.Event {
	var out []tracking.Event
	err := Stream(o, func(batch []tracking.Event) error {
		out = append(out, batch...)
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

// Stream generates the events of the options and calls fn with them in
// batches of Options.BatchSize (the last may be shorter), in order of
// receipt, so millions of events need no more memory than a day's. The
// batch is reused once fn returns: fn must copy what it keeps. Stream
// returns the first error of fn, or an error naming an invalid option.
func Stream(o Options, fn func(batch []tracking.Event) error) error {
	o, err := o.withDefaults()
	if err != nil {
		return err
	}
	g := &generator{
		o:      o,
		r:      rand.New(rand.NewPCG(o.Seed, 0x5eed_da7a_9e0e_7a7e)),
		end:    o.Start.Add(time.Duration(o.Days) * 24 * time.Hour),
		prefix: fmt.Sprintf("%x", o.Seed),
		fn:     fn,
		batch:  make([]tracking.Event, 0, o.BatchSize),
	}
	for _, c := range o.Currencies {
		g.weights += c.Weight
	}
	return g.run()
}

// generator is the state of one Stream.
type generator struct {
	o       Options
	r       *rand.Rand
	end     time.Time
	prefix  string // from the seed, in every id
	weights int    // sum of the currencies' weights

	seq, orders, refunds int
	customers            []*customer

	// pending holds the events generated and not yet handed over: those
	// received after the day being flushed wait for their own day.
	pending []tracking.Event
	batch   []tracking.Event
	fn      func([]tracking.Event) error
	err     error

	// Each day has at least one late and one duplicated event.
	dayEvents       int
	dayLate, dayDup bool
}

// customer is a visitor who identified: their user id, the devices they
// have used and the currency they pay in.
type customer struct {
	userID   string
	devices  []device
	currency string
}

type device struct{ anon, ua string }

// visit is one visitor's state while a visit is generated.
type visit struct {
	anon, user, session string
	currency, ua        string
	t                   time.Time
	// long visits never bounce and take their time (the visit across
	// midnight); flash visits are quick.
	long, flash bool
	// login visits never bounce and log in after the landing page.
	login bool
	cust  *customer
}

const site = "https://shop.example.com"

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36",
}

// hourWeights is the daily rhythm: relative arrivals per local hour.
var hourWeights = [24]int{2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 7, 8, 9, 10, 9, 6, 3}

// sources are where visits come from: UTM parameters of the landing url
// and the referrer, with weights.
var sources = []struct {
	weight                   int
	source, medium, campaign string
	referrer                 string
}{
	{30, "", "", "", ""}, // direct
	{20, "", "", "", "https://www.google.com/"},
	{15, "google", "cpc", "spring_sale", "https://www.google.com/"},
	{10, "facebook", "social", "new_arrivals", "https://www.facebook.com/"},
	{8, "instagram", "social", "influencer", "https://l.instagram.com/"},
	{10, "newsletter", "email", "weekly", ""},
	{7, "", "", "", "https://www.bing.com/"},
}

var searches = []string{"running shoes", "linen", "rain jacket", "black jeans", "gift", "wool", "boots size 42", "tote bag"}

func (g *generator) run() error {
	day := 24 * time.Hour
	for d := range g.o.Days {
		ws := g.o.Start.Add(time.Duration(d) * day)
		we := ws.Add(day)
		g.dayEvents, g.dayLate, g.dayDup = 0, false, false
		for range g.o.Visitors {
			at := g.arrival(ws)
			if len(g.customers) > 0 && g.r.IntN(4) == 0 {
				g.returning(g.customers[g.r.IntN(len(g.customers))], -1, at)
			} else {
				g.newVisitor(at)
			}
		}
		g.acrossMidnight(ws, we)
		g.secondDevice(ws)
		if d == g.o.Days/2 {
			g.flashSale(ws, we)
		}
		if err := g.flush(we, false); err != nil {
			return err
		}
	}
	return g.flush(time.Time{}, true)
}

// flush hands over the pending events received before until (all of them
// when all is set), in order of receipt.
func (g *generator) flush(until time.Time, all bool) error {
	if g.err != nil {
		return g.err
	}
	slices.SortFunc(g.pending, func(a, b tracking.Event) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	n := len(g.pending)
	if !all {
		n, _ = slices.BinarySearchFunc(g.pending, until, func(e tracking.Event, t time.Time) int {
			return e.ReceivedAt.Compare(t)
		})
	}
	for _, e := range g.pending[:n] {
		g.batch = append(g.batch, e)
		if len(g.batch) == g.o.BatchSize {
			if err := g.fn(g.batch); err != nil {
				return err
			}
			g.batch = g.batch[:0]
		}
	}
	g.pending = append([]tracking.Event(nil), g.pending[n:]...)
	if all && len(g.batch) > 0 {
		if err := g.fn(g.batch); err != nil {
			return err
		}
		g.batch = g.batch[:0]
	}
	return nil
}

// arrival draws the start of a visit in the day from ws by the rhythm of
// local hours.
func (g *generator) arrival(ws time.Time) time.Time {
	for {
		t := ws.Add(time.Duration(g.r.Int64N(int64(24*time.Hour/time.Millisecond))) * time.Millisecond)
		if g.r.IntN(10) < hourWeights[t.In(g.o.Zone).Hour()] {
			return t
		}
	}
}

func (g *generator) hexID(prefix string) string {
	return fmt.Sprintf("%s%016x", prefix, g.r.Uint64())
}

func (g *generator) currency() string {
	n := g.r.IntN(g.weights)
	for _, c := range g.o.Currencies {
		if n < c.Weight {
			return c.Code
		}
		n -= c.Weight
	}
	return g.o.Currencies[0].Code
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

// wait moves the visit's clock on by a pause between events.
func (g *generator) wait(v *visit, minSec, maxSec int) {
	switch {
	case v.flash:
		minSec, maxSec = 2, 20
	case v.long:
		minSec, maxSec = 60, 240
	}
	ms := minSec*1000 + g.r.IntN((maxSec-minSec)*1000+1)
	v.t = v.t.Add(time.Duration(ms) * time.Millisecond)
}

// pick draws a product, the head of the catalogue most often.
func (g *generator) pick() product {
	u := g.r.Float64()
	return catalog[int(u*u*float64(len(catalog)))]
}

// emit generates one event of the visit at its clock; set fills the
// fields of its type. Events at or after the range's end are dropped.
func (g *generator) emit(v *visit, typ string, set func(*tracking.Event)) bool {
	e := tracking.Event{
		ID: fmt.Sprintf("ev-%s-%08d", g.prefix, g.seq), ShopID: g.o.ShopID, Type: typ,
		UserID: v.user, AnonymousID: v.anon, SessionID: v.session, UserAgent: v.ua, Timestamp: v.t,
	}
	g.seq++
	if set != nil {
		set(&e)
	}
	if !e.Timestamp.Before(g.end) {
		return false
	}
	g.dayEvents++
	received := e.Timestamp.Add(time.Duration(50+g.r.IntN(1500)) * time.Millisecond)
	if g.chance(0.02) || !g.dayLate && g.dayEvents >= 25 {
		// Sent hours later: an app offline, a queue replayed.
		received = received.Add(time.Hour + time.Duration(g.r.IntN(11*3600))*time.Second)
		g.dayLate = true
	}
	if received.After(g.end) {
		received = g.end
	}
	if err := tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{Now: received}); err != nil && g.err == nil {
		g.err = fmt.Errorf("datagen: generated an invalid %s event: %w", typ, err)
	}
	g.pending = append(g.pending, e)
	if g.chance(0.01) || !g.dayDup && g.dayEvents >= 40 {
		// A retry of a send whose answer was lost: the same id again.
		d := e
		d.ReceivedAt = earliest(d.ReceivedAt.Add(time.Duration(1+g.r.IntN(30))*time.Second), g.end)
		g.pending = append(g.pending, d)
		g.dayDup = true
	}
	return true
}

// newVisitor is a visit by someone never seen before. One in ten has no
// session id; such visitors may come back later the same day, as a new
// session by the 30-minute rule.
func (g *generator) newVisitor(at time.Time) {
	v := &visit{anon: g.hexID("anon-"), currency: g.currency(), ua: userAgents[g.r.IntN(len(userAgents))], t: at}
	if g.chance(0.1) {
		g.browse(v)
		if g.chance(0.4) {
			v.t = v.t.Add(35*time.Minute + time.Duration(g.r.IntN(150))*time.Minute)
			g.browse(v)
		}
		return
	}
	v.session = g.hexID("sess-")
	g.browse(v)
}

// returning is a visit by a customer on one of their devices, anonymous
// until they log in: on device dev they surely do, with dev < 0 (any
// device) they may.
func (g *generator) returning(c *customer, dev int, at time.Time) {
	login := dev >= 0
	if dev < 0 {
		dev = g.r.IntN(len(c.devices))
	}
	d := c.devices[dev]
	v := &visit{anon: d.anon, ua: d.ua, currency: c.currency, cust: c, t: at, login: login}
	if !g.chance(0.1) {
		v.session = g.hexID("sess-")
	}
	g.browse(v)
}

// secondDevice brings a customer of one device back on a new one, so
// their phone's anonymous history is stitched to their laptop's.
func (g *generator) secondDevice(ws time.Time) {
	for _, c := range g.customers {
		if len(c.devices) == 1 {
			ua := userAgents[(slices.Index(userAgents, c.devices[0].ua)+2)%len(userAgents)]
			c.devices = append(c.devices, device{g.hexID("anon-"), ua})
			g.returning(c, 1, g.arrival(ws))
			return
		}
	}
}

// acrossMidnight makes a long visit that starts a few minutes before the
// local midnight ending the day from ws and goes on after it.
func (g *generator) acrossMidnight(ws, we time.Time) {
	y, m, d := ws.In(g.o.Zone).Date()
	midnight := time.Date(y, m, d+1, 0, 0, 0, 0, g.o.Zone)
	if midnight.Add(-10*time.Minute).Before(ws) || midnight.Add(time.Hour).After(earliest(we, g.end)) {
		return
	}
	at := midnight.Add(-time.Duration(120+g.r.IntN(180)) * time.Second)
	v := &visit{anon: g.hexID("anon-"), session: g.hexID("sess-"), currency: g.currency(),
		ua: userAgents[g.r.IntN(len(userAgents))], t: at, long: true}
	g.browse(v)
}

// flashSale sends a crowd to one product within ten minutes from the
// local noon of the day from ws; few of them buy.
func (g *generator) flashSale(ws, we time.Time) {
	y, m, d := ws.In(g.o.Zone).Date()
	start := time.Date(y, m, d, 12, 0, 0, 0, g.o.Zone)
	if start.Before(ws) {
		start = start.Add(24 * time.Hour)
	}
	stop := start.Add(10 * time.Minute)
	if stop.After(earliest(we, g.end)) {
		return
	}
	crowd := max(30, g.o.Visitors/2)
	for i := range crowd {
		v := &visit{anon: g.hexID("anon-"), session: g.hexID("sess-"), currency: g.currency(),
			ua: userAgents[g.r.IntN(len(userAgents))], flash: true,
			t: start.Add(time.Duration(g.r.Int64N(int64(8*time.Minute)) * int64(min(i, 1))))}
		v.t = v.t.Truncate(time.Millisecond)
		g.emit(v, tracking.PageViewed, func(e *tracking.Event) {
			e.URL = site + "/products/" + FlashProductID + "?utm_source=newsletter&utm_medium=email&utm_campaign=flash_sale"
		})
		for range 1 + g.r.IntN(3) {
			if g.wait(v, 0, 0); !v.t.Before(stop) {
				break
			}
			g.viewProduct(v, flashProduct)
		}
		if !v.t.Before(stop) || !(i == 0 || g.chance(0.08)) {
			continue
		}
		cart := []line{{flashProduct, 1}}
		g.emit(v, tracking.AddToCart, func(e *tracking.Event) { g.setProduct(e, v, flashProduct, 1) })
		if i == 0 || g.chance(0.4) {
			g.checkout(v, cart, stop, i == 0)
		}
	}
}

// line is a product in a cart and how many.
type line struct {
	p   product
	qty int64
}

// browse generates one visit from its landing page on: each step of the
// funnel reached by fewer visits than the one before.
func (g *generator) browse(v *visit) {
	src := sources[0]
	n := g.r.IntN(100)
	for _, s := range sources {
		if n < s.weight {
			src = s
			break
		}
		n -= s.weight
	}
	landing := site + "/"
	switch n := g.r.IntN(10); {
	case n < 3:
		landing = site + "/collections/" + g.pick().category
	case n < 5:
		landing = site + "/products/" + g.pick().id
	}
	if src.source != "" {
		q := url.Values{"utm_source": {src.source}, "utm_medium": {src.medium}, "utm_campaign": {src.campaign}}
		landing += "?" + q.Encode()
	}
	g.emit(v, tracking.PageViewed, func(e *tracking.Event) { e.URL, e.Referrer = landing, src.referrer })
	if !v.long && !v.login && g.chance(0.3) {
		return // bounced
	}
	g.wait(v, 5, 60)
	if v.cust != nil && v.user == "" && (v.login || g.chance(0.5)) {
		g.identify(v) // a returning customer logs in after a look around
		g.wait(v, 2, 20)
	}
	category := g.pick().category
	g.emit(v, tracking.ProductListViewed, func(e *tracking.Event) {
		e.URL = site + "/collections/" + category
		e.Properties = mustJSON(struct {
			Category string `json:"category"`
		}{category})
	})
	if g.chance(0.3) {
		g.wait(v, 5, 40)
		q := searches[g.r.IntN(len(searches))]
		g.emit(v, tracking.ProductSearched, func(e *tracking.Event) {
			e.URL = site + "/search?" + url.Values{"q": {q}}.Encode()
			e.Properties = mustJSON(struct {
				Query string `json:"query"`
			}{q})
		})
	}
	if g.chance(0.2) {
		g.wait(v, 5, 40)
		g.emit(v, tracking.ProductListFiltered, func(e *tracking.Event) {
			e.URL = site + "/collections/" + category + "?sort=price_asc"
			e.Properties = mustJSON(map[string]any{"category": category, "sort": "price_asc",
				"filters": []map[string]string{{"type": "size", "value": []string{"S", "M", "L"}[g.r.IntN(3)]}}})
		})
	}
	views := 1 + g.r.IntN(4)
	if v.long {
		views = 4 + g.r.IntN(3)
	}
	var viewed []product
	for range views {
		g.wait(v, 10, 120)
		p := g.pick()
		g.viewProduct(v, p)
		if !slices.Contains(viewed, p) {
			viewed = append(viewed, p)
		}
	}
	var cart []line
	for _, p := range viewed {
		if g.chance(0.18) {
			g.wait(v, 5, 60)
			qty := int64(1)
			if g.chance(0.15) {
				qty = 2
			}
			g.emit(v, tracking.AddToCart, func(e *tracking.Event) { g.setProduct(e, v, p, qty) })
			cart = append(cart, line{p, qty})
		}
	}
	if len(cart) > 1 && g.chance(0.25) {
		g.wait(v, 5, 60)
		last := cart[len(cart)-1]
		g.emit(v, tracking.RemoveFromCart, func(e *tracking.Event) { g.setProduct(e, v, last.p, last.qty) })
		cart = cart[:len(cart)-1]
	}
	if len(cart) == 0 {
		return
	}
	if g.chance(0.7) {
		g.wait(v, 5, 60)
		g.emit(v, tracking.CartViewed, func(e *tracking.Event) { e.URL = site + "/cart" })
	}
	if g.chance(0.5) {
		g.checkout(v, cart, time.Time{}, false)
	}
}

func (g *generator) viewProduct(v *visit, p product) {
	g.emit(v, tracking.ProductViewed, func(e *tracking.Event) {
		g.setProduct(e, v, p, 0)
		e.URL = site + "/products/" + p.id
	})
}

// setProduct fills an event's product fields, priced in the visit's
// currency.
func (g *generator) setProduct(e *tracking.Event, v *visit, p product, qty int64) {
	e.ProductID, e.ProductName, e.Category = p.id, p.name, p.category
	e.Price, e.Currency, e.Quantity = price(p.cents, v.currency), v.currency, qty
}

// identify links the visit's device to its customer, a new one for a new
// visitor (signing up at checkout); the visit's later events carry the
// user id.
func (g *generator) identify(v *visit) {
	if v.cust == nil {
		v.cust = &customer{userID: fmt.Sprintf("cust-%s-%05d", g.prefix, len(g.customers)+1),
			devices: []device{{v.anon, v.ua}}, currency: v.currency}
		g.customers = append(g.customers, v.cust)
	}
	v.user = v.cust.userID
	g.emit(v, tracking.Identify, func(e *tracking.Event) {
		e.Properties = mustJSON(struct {
			Method string `json:"method"`
		}{map[bool]string{true: "signup", false: "login"}[len(v.cust.devices) == 1 && v.cust.devices[0].anon == v.anon]})
	})
}

// checkout takes a cart through checkout to a purchase, most of the time,
// and now and then to a refund days later; with buy set, surely to a
// purchase. Nothing happens from stop on, when it is set.
func (g *generator) checkout(v *visit, cart []line, stop time.Time, buy bool) {
	if v.user == "" {
		g.wait(v, 5, 30)
		g.identify(v)
	}
	g.wait(v, 5, 60)
	g.emit(v, tracking.CheckoutStarted, func(e *tracking.Event) { e.URL = site + "/checkout" })
	if !buy && !g.chance(0.65) {
		return
	}
	g.wait(v, 30, 300)
	if !stop.IsZero() && !v.t.Before(stop) {
		return
	}
	type item struct {
		ProductID string `json:"product_id"`
		Name      string `json:"name"`
		Category  string `json:"category"`
		Price     string `json:"price"`
		Quantity  int64  `json:"quantity"`
	}
	var items []item
	total := tracking.Money{Currency: v.currency}
	for _, l := range cart {
		p := price(l.p.cents, v.currency)
		total.Minor += p.Minor * l.qty
		items = append(items, item{l.p.id, l.p.name, l.p.category, p.String(), l.qty})
	}
	g.orders++
	orderID := fmt.Sprintf("ord-%s-%06d", g.prefix, g.orders)
	props := mustJSON(struct {
		Products []item `json:"products"`
	}{items})
	g.emit(v, tracking.PurchaseCompleted, func(e *tracking.Event) {
		e.URL = site + "/checkout/thank-you"
		e.Revenue, e.Currency, e.OrderID, e.Properties = total, v.currency, orderID, props
	})
	if g.refunds == 0 || g.chance(0.06) {
		// Refunded from the shop's back office hours or days later: the
		// customer's, of no device or session.
		r := &visit{user: v.user, t: v.t.Add(time.Hour + time.Duration(g.r.Int64N(int64(3*24*time.Hour)))).Truncate(time.Millisecond)}
		if g.emit(r, tracking.OrderRefunded, func(e *tracking.Event) {
			e.Revenue, e.Currency, e.OrderID, e.Properties = total, v.currency, orderID, props
		}) {
			g.refunds++
		}
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
