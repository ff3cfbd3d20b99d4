package shopify_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeAdmin is an httptest Admin API that behaves as Shopify's does where
// a sync can go wrong: it checks the access token, holds a leaky bucket
// per shop (answering 429 with Retry-After when a call would overflow it),
// answers further 429s and drops connections on a schedule, pages with
// opaque page_info cursors from the Link header, and refuses other query
// parameters next to page_info, as Shopify does.
type fakeAdmin struct {
	t      *testing.T
	srv    *httptest.Server
	orders []json.RawMessage
	token  string

	size int           // bucket size
	leak time.Duration // one call leaks per leak

	mu        sync.Mutex
	level     float64
	last      time.Time
	requests  int
	overflows int // 429s because the client overfilled the bucket
	// throttleEvery and dropEvery inject a 429 / a dropped connection on
	// every n-th request to orders.json (0: never).
	throttleEvery, dropEvery int
	// offsets are the offsets of the pages served, in order.
	offsets []int
}

const apiPrefix = "/admin/api/2025-01"

func newFakeAdmin(t *testing.T, orders []json.RawMessage) *fakeAdmin {
	f := &fakeAdmin{t: t, orders: orders, token: "shpat_test_token", size: 10, leak: 4 * time.Millisecond,
		throttleEvery: 9, dropEvery: 7}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/orders/count.json", func(w http.ResponseWriter, r *http.Request) {
		if !f.admit(w, r, false) {
			return
		}
		fmt.Fprintf(w, `{"count":%d}`, len(f.orders))
	})
	mux.HandleFunc("GET "+apiPrefix+"/orders.json", f.ordersPage)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// admit checks the token and the bucket, and injects faults; it answers
// itself and returns false when the call does not go through.
func (f *fakeAdmin) admit(w http.ResponseWriter, r *http.Request, faults bool) bool {
	if r.Header.Get("X-Shopify-Access-Token") != f.token {
		http.Error(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`, http.StatusUnauthorized)
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	dropping := faults && f.dropEvery > 0 && f.requests%f.dropEvery == 0
	now := time.Now()
	if !f.last.IsZero() {
		f.level = max(0, f.level-float64(now.Sub(f.last))/float64(f.leak))
	}
	f.last = now
	limit := func() string { return fmt.Sprintf("%d/%d", int(f.level+0.999), f.size) }
	if f.level+1 > float64(f.size) {
		f.overflows++
		w.Header().Set("X-Shopify-Shop-Api-Call-Limit", limit())
		w.Header().Set("Retry-After", "0.02")
		http.Error(w, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`, http.StatusTooManyRequests)
		return false
	}
	f.level++
	if dropping {
		// The connection breaks in the middle of the answer. (One that
		// breaks before the answer, net/http retries on its own.)
		if conn, buf, err := http.NewResponseController(w).Hijack(); err == nil {
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Shopify-Shop-Api-Call-Limit: " + limit() +
				"\r\nContent-Length: 4096\r\n\r\n{\"orders\":[{\"id\":45")
			_ = buf.Flush()
			_ = conn.Close()
		}
		return false
	}
	w.Header().Set("X-Shopify-Shop-Api-Call-Limit", limit())
	if faults && f.throttleEvery > 0 && f.requests%f.throttleEvery == 0 {
		w.Header().Set("Retry-After", "0.01")
		http.Error(w, `{"errors":"Exceeded 2 calls per second for api client."}`, http.StatusTooManyRequests)
		return false
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	return true
}

func cursor(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(`{"direction":"next","last_offset":` + strconv.Itoa(offset) + `}`))
}

func (f *fakeAdmin) ordersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 250 {
			http.Error(w, `{"errors":{"limit":"invalid"}}`, http.StatusBadRequest)
			return
		}
		limit = n
	}
	offset := 0
	if pi := q.Get("page_info"); pi != "" {
		for k := range q {
			if k != "page_info" && k != "limit" && k != "fields" {
				http.Error(w, `{"errors":{"page_info":"Invalid request: other parameters are not allowed with page_info"}}`, http.StatusBadRequest)
				return
			}
		}
		raw, err := base64.RawURLEncoding.DecodeString(pi)
		var c struct {
			LastOffset *int `json:"last_offset"`
		}
		if err != nil || json.Unmarshal(raw, &c) != nil || c.LastOffset == nil {
			http.Error(w, `{"errors":{"page_info":"Invalid value."}}`, http.StatusBadRequest)
			return
		}
		offset = *c.LastOffset
	} else if q.Get("status") != "any" {
		http.Error(w, `{"errors":"the sync must ask for status=any"}`, http.StatusBadRequest)
		return
	}
	if !f.admit(w, r, true) {
		return
	}
	end := min(offset+limit, len(f.orders))
	f.mu.Lock()
	f.offsets = append(f.offsets, offset)
	f.mu.Unlock()
	url := f.srv.URL + apiPrefix + "/orders.json"
	var links []string
	if offset > 0 {
		links = append(links, fmt.Sprintf(`<%s?limit=%d&page_info=%s>; rel="previous"`, url, limit, cursor(max(0, offset-limit))))
	}
	if end < len(f.orders) {
		links = append(links, fmt.Sprintf(`<%s?limit=%d&page_info=%s>; rel="next"`, url, limit, cursor(end)))
	}
	for i, l := range links {
		if i > 0 {
			l = ", " + l
		}
		w.Header().Set("Link", w.Header().Get("Link")+l)
	}
	b, _ := json.Marshal(struct {
		Orders []json.RawMessage `json:"orders"`
	}{f.orders[offset:end]})
	_, _ = w.Write(b)
}

func (f *fakeAdmin) stats() (requests, overflows int, offsets []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.overflows, append([]int(nil), f.offsets...)
}

// fakeOrders makes n orders shaped like the Admin API's: large ids,
// customers, line items, every 10th refunded, every 50th voided unpaid.
func fakeOrders(n int) (orders []json.RawMessage, refunds, voided int) {
	for i := range n {
		id := 5000000000000000000 + int64(i)*7919
		status := "paid"
		if i%50 == 49 {
			status = "voided"
			voided++
		}
		o := map[string]any{
			"id": json.Number(strconv.FormatInt(id, 10)), "name": fmt.Sprintf("#%d", 1001+i), "order_number": 1001 + i,
			"created_at":   time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)).Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			"processed_at": time.Date(2025, 1, 1, 0, 0, 0, 0, time.FixedZone("EST", -5*3600)).Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			"currency":     "CAD", "total_price": fmt.Sprintf("%d.%02d", 10+i%90, i%100), "financial_status": status,
			"checkout_token": fmt.Sprintf("tok%08d", i), "test": false,
			"customer": map[string]any{"id": json.Number(strconv.FormatInt(7000000000000+int64(i%97), 10)), "email": "someone@example.com"},
			"line_items": []map[string]any{
				{"id": json.Number(strconv.FormatInt(id+1, 10)), "product_id": json.Number(strconv.Itoa(632910392 + i%5)), "variant_id": 808950810,
					"title": fmt.Sprintf("Product %d", i%5), "quantity": 1 + i%3, "price": "9.99", "sku": "SKU"},
			},
			"refunds": []any{},
		}
		if i%10 == 3 && status == "paid" {
			refunds++
			o["refunds"] = []map[string]any{{
				"id": json.Number(strconv.FormatInt(id+2, 10)), "order_id": json.Number(strconv.FormatInt(id, 10)),
				"created_at":   time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339),
				"transactions": []map[string]any{{"kind": "refund", "status": "success", "amount": "5.00", "currency": "CAD"}},
			}}
		}
		b, _ := json.Marshal(o)
		orders = append(orders, b)
	}
	return orders, refunds, voided
}
