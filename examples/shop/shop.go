package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoplytics/shoplytics/internal/datagen"
	"github.com/shoplytics/shoplytics/tracking"
)

//go:embed templates
var templateFiles embed.FS

// currency is what the shop sells in.
const currency = "USD"

// maxCarts bounds the carts (and orders) the shop keeps in memory; the
// least recently used go first.
const maxCarts = 10_000

// shop is the web shop: its catalogue, the carts and orders it keeps in
// memory, and what it records server-side.
type shop struct {
	id, writeKey string
	// client records the server-side events: batched, handed to the
	// ingester, flushed when the shop stops.
	client   *tracking.Client
	log      *slog.Logger
	products []datagen.Product
	byID     map[string]datagen.Product
	pages    map[string]*template.Template
	now      func() time.Time

	mu     sync.Mutex
	carts  map[string]*cart  // by the shop's cart cookie
	orders map[string]*order // by order id
}

type cart struct {
	lines   []line
	touched time.Time
}

type line struct {
	Product  datagen.Product
	Quantity int64
}

// Total is the line's price times its quantity.
func (l line) Total() tracking.Money {
	return tracking.Money{Minor: l.Product.Price.Minor * l.Quantity, Currency: l.Product.Price.Currency}
}

type order struct {
	ID, Email, Name string
	Lines           []line
	Total           tracking.Money
	Placed          time.Time
}

func newShop(id, writeKey string, client *tracking.Client, log *slog.Logger) (*shop, error) {
	s := &shop{id: id, writeKey: writeKey, client: client, log: log, products: datagen.Products(currency),
		byID: map[string]datagen.Product{}, pages: map[string]*template.Template{}, now: time.Now,
		carts: map[string]*cart{}, orders: map[string]*order{}}
	for _, p := range s.products {
		s.byID[p.ID] = p
	}
	layout, err := template.ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("shop: templates: %w", err)
	}
	for _, name := range []string{"list", "product", "cart", "checkout", "order", "notfound"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("shop: templates: %w", err)
		}
		s.pages[name] = t
	}
	return s, nil
}

func (s *shop) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.list)
	mux.HandleFunc("GET /products/{id}", s.product)
	mux.HandleFunc("GET /cart", s.viewCart)
	mux.HandleFunc("POST /cart/add", s.addToCart)
	mux.HandleFunc("POST /cart/remove", s.removeFromCart)
	mux.HandleFunc("GET /checkout", s.checkoutForm)
	mux.HandleFunc("POST /checkout", s.checkout)
	mux.HandleFunc("GET /orders/{id}", s.viewOrder)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r, "No such page.") })
}

// page is what every template gets.
type page struct {
	Title     string
	WriteKey  string
	CartCount int64
	// Track is an event the page sends once the tracker is there (through
	// the snippet's queue), with its fields.
	Track      string
	TrackProps map[string]any
	Data       any
}

func (s *shop) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.WriteKey = s.writeKey
	if c := s.cartOf(r); c != nil {
		s.mu.Lock()
		for _, l := range c.lines {
			p.CartCount += l.Quantity
		}
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := s.pages[name].ExecuteTemplate(w, "layout", p); err != nil {
		s.log.Error("shop: render", "page", name, "err", err)
	}
}

func (s *shop) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, http.StatusNotFound, "notfound", page{Title: "Not found", Data: msg})
}

func productProps(p datagen.Product) map[string]any {
	return map[string]any{"product_id": p.ID, "product_name": p.Name, "category": p.Category,
		"price": p.Price.String(), "currency": p.Price.Currency}
}

func (s *shop) categories() []string {
	var cats []string
	for _, p := range s.products {
		if !slices.Contains(cats, p.Category) {
			cats = append(cats, p.Category)
		}
	}
	return cats
}

func (s *shop) list(w http.ResponseWriter, r *http.Request) {
	cat := r.URL.Query().Get("category")
	if cat != "" && !slices.Contains(s.categories(), cat) {
		cat = ""
	}
	s.render(w, r, http.StatusOK, "list", page{Title: "All products", Track: tracking.ProductListViewed,
		TrackProps: map[string]any{"list": "all"},
		Data: struct {
			Products   []datagen.Product
			Categories []string
			Category   string
		}{s.products, s.categories(), cat}})
}

func (s *shop) product(w http.ResponseWriter, r *http.Request) {
	p, ok := s.byID[r.PathValue("id")]
	if !ok {
		s.notFound(w, r, "We have no such product.")
		return
	}
	s.render(w, r, http.StatusOK, "product", page{Title: p.Name, Track: tracking.ProductViewed, TrackProps: productProps(p), Data: p})
}

// cartOf finds the visitor's cart by the shop's own cookie, or nil.
func (s *shop) cartOf(r *http.Request) *cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cartLocked(r)
}

func (s *shop) cartLocked(r *http.Request) *cart {
	if ck, err := r.Cookie("cart"); err == nil {
		if c, ok := s.carts[ck.Value]; ok {
			c.touched = s.now()
			return c
		}
	}
	return nil
}

// cartFor is the visitor's cart, made (and its cookie set) when there is
// none.
func (s *shop) cartFor(w http.ResponseWriter, r *http.Request) *cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.cartLocked(r); c != nil {
		return c
	}
	id := randomHex(16)
	c := &cart{touched: s.now()}
	s.evictLocked()
	s.carts[id] = c
	http.SetCookie(w, &http.Cookie{Name: "cart", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 7 * 24 * 3600})
	return c
}

// evictLocked drops the least recently used cart (and the oldest order)
// when the shop holds maxCarts of them; s.mu is held.
func (s *shop) evictLocked() {
	if len(s.carts) >= maxCarts {
		var oldest string
		for id, c := range s.carts {
			if oldest == "" || c.touched.Before(s.carts[oldest].touched) {
				oldest = id
			}
		}
		delete(s.carts, oldest)
	}
	if len(s.orders) >= maxCarts {
		var oldest string
		for id, o := range s.orders {
			if oldest == "" || o.Placed.Before(s.orders[oldest].Placed) {
				oldest = id
			}
		}
		delete(s.orders, oldest)
	}
}

func (s *shop) viewCart(w http.ResponseWriter, r *http.Request) {
	var lines []line
	if c := s.cartOf(r); c != nil {
		s.mu.Lock()
		lines = slices.Clone(c.lines)
		s.mu.Unlock()
	}
	total := sum(lines)
	s.render(w, r, http.StatusOK, "cart", page{Title: "Your cart", Track: tracking.CartViewed,
		TrackProps: map[string]any{"items": len(lines)},
		Data: struct {
			Lines []line
			Total tracking.Money
		}{lines, total}})
}

func sum(lines []line) tracking.Money {
	total := tracking.Money{Currency: currency}
	for _, l := range lines {
		total.Minor += l.Total().Minor
	}
	return total
}

// formError answers a bad form with a page naming the field.
func (s *shop) formError(w http.ResponseWriter, r *http.Request, field, msg string) {
	s.render(w, r, http.StatusBadRequest, "notfound", page{Title: "Please check the form", Data: field + ": " + msg})
}

func (s *shop) addToCart(w http.ResponseWriter, r *http.Request) {
	p, ok := s.byID[r.PostFormValue("product_id")]
	if !ok {
		s.formError(w, r, "product_id", "no such product")
		return
	}
	qty, err := strconv.ParseInt(cmp.Or(r.PostFormValue("quantity"), "1"), 10, 64)
	if err != nil || qty < 1 || qty > 99 {
		s.formError(w, r, "quantity", "must be a whole number from 1 to 99")
		return
	}
	c := s.cartFor(w, r)
	s.mu.Lock()
	i := slices.IndexFunc(c.lines, func(l line) bool { return l.Product.ID == p.ID })
	if i < 0 {
		c.lines = append(c.lines, line{Product: p, Quantity: qty})
	} else {
		c.lines[i].Quantity = min(c.lines[i].Quantity+qty, 99)
	}
	s.mu.Unlock()
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *shop) removeFromCart(w http.ResponseWriter, r *http.Request) {
	if c := s.cartOf(r); c != nil {
		id := r.PostFormValue("product_id")
		s.mu.Lock()
		c.lines = slices.DeleteFunc(c.lines, func(l line) bool { return l.Product.ID == id })
		s.mu.Unlock()
	}
	http.Redirect(w, r, "/cart", http.StatusSeeOther)
}

func (s *shop) checkoutForm(w http.ResponseWriter, r *http.Request) {
	var lines []line
	if c := s.cartOf(r); c != nil {
		s.mu.Lock()
		lines = slices.Clone(c.lines)
		s.mu.Unlock()
	}
	if len(lines) == 0 {
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
		return
	}
	total := sum(lines)
	s.render(w, r, http.StatusOK, "checkout", page{Title: "Checkout", Track: tracking.CheckoutStarted,
		TrackProps: map[string]any{"value": total.String(), "currency": total.Currency, "items": len(lines)},
		Data: struct {
			Lines []line
			Total tracking.Money
			Token string
		}{lines, total, randomHex(12)}})
}

// checkoutToken is what checkoutForm puts in the form.
var checkoutToken = regexp.MustCompile(`^[0-9a-f]{24}$`)

// visitorID is what a checkout form's anonymous_id and session_id may be:
// what the tracker makes, and nothing that could not be an event's id.
var visitorID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// checkout places the order and records it server-side: an identify
// linking the browser's anonymous id to the customer, and the purchase,
// in the session the tracker put in the form. The order id comes from
// the form's token, so the same form sent twice (a double click, a
// reload) is one order and one purchase.
func (s *shop) checkout(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.PostFormValue("email"))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		s.formError(w, r, "email", "is not an e-mail address")
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if len(name) > 100 {
		s.formError(w, r, "name", "is longer than 100 characters")
		return
	}
	token := r.PostFormValue("token")
	if !checkoutToken.MatchString(token) {
		s.formError(w, r, "token", "the form is not one this shop made: start the checkout again")
		return
	}
	orderID := "ord-" + token
	anon, session := r.PostFormValue("anonymous_id"), r.PostFormValue("session_id")
	if !visitorID.MatchString(anon) {
		anon = "" // no tracker (blocked, or Do-Not-Track): the customer alone
	}
	if !visitorID.MatchString(session) {
		session = ""
	}

	s.mu.Lock()
	o, placed := s.orders[orderID]
	if !placed {
		c := s.cartLocked(r)
		if c == nil || len(c.lines) == 0 {
			s.mu.Unlock()
			http.Redirect(w, r, "/cart", http.StatusSeeOther)
			return
		}
		s.evictLocked()
		o = &order{ID: orderID, Email: email, Name: name, Lines: slices.Clone(c.lines), Total: sum(c.lines), Placed: s.now()}
		s.orders[orderID] = o
		c.lines = nil
	}
	s.mu.Unlock()

	if !placed {
		if err := s.record(r.Context(), s.orderEvents(r, o, anon, session)...); err != nil {
			// The order stands; its record is what failed. Say so in the log,
			// where an operator looks.
			s.log.Error("shop: recording the purchase", "order", o.ID, "err", err)
		}
	}
	http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
}

// customerID is the shop's id of a customer: a hash of the e-mail address,
// so the address itself never reaches the analytics.
func customerID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "cust-" + hex.EncodeToString(sum[:8])
}

// orderEvents are what a placed order records: identify, then the
// purchase, with ids derived from the order so they are stored once.
func (s *shop) orderEvents(r *http.Request, o *order, anon, session string) []tracking.Event {
	type item struct {
		ProductID string `json:"product_id"`
		Name      string `json:"name"`
		Category  string `json:"category"`
		Price     string `json:"price"`
		Quantity  int64  `json:"quantity"`
	}
	items := make([]item, len(o.Lines))
	for i, l := range o.Lines {
		items[i] = item{l.Product.ID, l.Product.Name, l.Product.Category, l.Product.Price.String(), l.Quantity}
	}
	products, _ := json.Marshal(struct {
		Products []item `json:"products"`
	}{items})
	user := customerID(o.Email)
	url := "http://" + r.Host + "/checkout"
	base := tracking.Event{ShopID: s.id, UserID: user, AnonymousID: anon, SessionID: session,
		URL: url, UserAgent: r.UserAgent(), Timestamp: o.Placed}
	identify := base
	identify.ID, identify.Type = "identify-"+o.ID, tracking.Identify
	identify.Properties = json.RawMessage(`{"method":"checkout"}`)
	purchase := base
	purchase.ID, purchase.Type = "purchase-"+o.ID, tracking.PurchaseCompleted
	purchase.OrderID, purchase.Revenue, purchase.Currency = o.ID, o.Total, o.Total.Currency
	purchase.Timestamp = o.Placed.Add(time.Millisecond) // after the identify
	purchase.Properties = products
	if anon == "" {
		return []tracking.Event{purchase}
	}
	return []tracking.Event{identify, purchase}
}

// record sends server-side events to shoplytics through the shop's
// tracking.Client, which ad blockers cannot stop.
func (s *shop) record(ctx context.Context, events ...tracking.Event) error {
	for _, e := range events {
		if err := s.client.Track(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *shop) viewOrder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		s.notFound(w, r, "We have no such order.")
		return
	}
	s.render(w, r, http.StatusOK, "order", page{Title: "Thank you", Data: o})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
