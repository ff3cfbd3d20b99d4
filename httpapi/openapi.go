package httpapi

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// operation describes one route for GET /openapi.json. Every route the
// handler registers has one (a test holds the two lists together).
type operation struct {
	summary string
	auth    string   // "write", "read", "key" (a read key, none of the shared read parameters) or "" (open)
	params  []string // names of query parameters beyond the shared read ones
	body    string   // what the request body is, if it has one
	answers map[int]string
}

// readAnswers are the answers every read route may give.
var readAnswers = map[int]string{
	200: "the answer, as JSON",
	400: "a parameter is wrong; {\"error\",\"field\"} names it",
	401: "missing or unknown read key",
	403: "the key may not read that shop",
	404: "an admin key named an unknown shop",
	503: "the store is unavailable",
}

// eraseAnswers are those of DELETE /api/users/{id}.
var eraseAnswers = map[int]string{
	200: "{\"deleted\":N}",
	400: "the id is empty or longer than 128 bytes",
	401: "missing or unknown read key",
	403: "the key may not read that shop",
	404: "an admin key named an unknown shop",
	501: "the store cannot erase events",
	503: "the store is unavailable, or what the server holds is not stored yet; retry",
}

// svgAnswers are the answers of the chart routes.
var svgAnswers = map[int]string{
	200: "image/svg+xml",
	400: "a parameter is wrong; {\"error\",\"field\"} names it (width 240 to 2400, height 160 to 1600)",
	401: "missing or unknown read key",
	403: "the key may not read that shop",
	404: "an admin key named an unknown shop",
	503: "the store is unavailable",
}

// insightAnswers are those of the insight routes: the read answers, and 501
// on a server without an insights engine.
var insightAnswers = func() map[int]string {
	m := map[int]string{501: "insights are not configured on this server"}
	for k, v := range readAnswers {
		m[k] = v
	}
	return m
}()

// readParams are the parameters every read route shares.
var sharedReadParams = []string{"shop", "from", "to", "tz"}

var operations = withSegment(map[string]operation{
	"POST /events": {summary: "Send events: one object, an array, {\"batch\":[...]} or NDJSON; gzip or not", auth: "write",
		body: "events", answers: map[int]string{
			202: "{\"accepted\",\"duplicates\",\"rejected\":[{\"index\",\"error\",\"field\"}],\"rejected_count\"}",
			400: "nothing in the body is valid, or it is not JSON", 401: "missing or unknown write key",
			413: "body over the limit, or more events than one body may hold",
			503: "overloaded or not taking events: retry after Retry-After",
		}},
	"OPTIONS /events": {summary: "CORS preflight for browsers", answers: map[int]string{204: "allowed"}},
	"POST /webhooks/shopify": {summary: "A Shopify webhook (orders/create, orders/paid, refunds/create, checkouts/create, customers/create), signed with X-Shopify-Hmac-Sha256 over the raw body; the shop is ?shop=<id> or found by X-Shopify-Shop-Domain",
		auth: "shopify", params: []string{"shop"}, body: "shopify", answers: map[int]string{
			200: "{\"accepted\":1}, or {\"accepted\":0,\"ignored\"|\"dropped\":\"why\"} for a signed webhook that is no event (a topic not mapped, a payload that does not map): Shopify retries anything but a 2xx",
			400: "no X-Shopify-Topic, or ?shop= and X-Shopify-Shop-Domain name different shops",
			401: "missing or wrong X-Shopify-Hmac-Sha256, or the shop has no Shopify secret",
			404: "no shop of that id or shopify_domain",
			413: "body over the limit",
			415: "a Content-Encoding (Shopify sends none)",
			503: "overloaded: retry after Retry-After",
		}},
	"GET /health": {summary: "Whether the store answers and takes writes", answers: map[int]string{
		200: "{\"status\":\"ok\"}", 503: "{\"status\":\"unavailable\",\"error\"}"}},
	"GET /tracker.js": {summary: "The browser tracker (JavaScript), cacheable: ETag, If-None-Match, gzip", answers: map[int]string{
		200: "text/javascript", 304: "the copy named by If-None-Match is current"}},
	"GET /openapi.json": {summary: "This description (OpenAPI 3)", answers: map[int]string{200: "the description"}},
	"GET /metrics": {summary: "The ingester's and the process's metrics, Prometheus text format",
		answers: map[int]string{200: "text/plain; version=0.0.4"}},
	"GET /api/counts":        {summary: "Events by type, most frequent first", auth: "read", answers: readAnswers},
	"GET /api/export":        {summary: "The shop's raw events, streamed", auth: "read", params: []string{"format"}, answers: readAnswers},
	"GET /api/stats":         {summary: "Events, sessions, users, conversion, revenue per currency, rates", auth: "read", answers: readAnswers},
	"GET /api/timeseries":    {summary: "A metric per hour, day or week, empty buckets as 0", auth: "read", params: []string{"metric", "interval", "type", "currency"}, answers: readAnswers},
	"GET /api/funnel":        {summary: "Ordered steps by session or user, optionally within a window", auth: "read", params: []string{"steps", "by", "window"}, answers: readAnswers},
	"GET /api/top-products":  {summary: "Products by views, adds, purchases or revenue", auth: "read", params: []string{"by", "limit", "currency"}, answers: readAnswers},
	"GET /api/top-customers": {summary: "Customers by revenue in one currency", auth: "read", params: []string{"limit", "currency"}, answers: readAnswers},
	"GET /api/retention":     {summary: "Cohorts by first event, retained per period", auth: "read", params: []string{"interval"}, answers: readAnswers},
	"GET /api/breakdown":     {summary: "Top values of a dimension with events, sessions, users, purchases, revenue", auth: "read", params: []string{"dimension", "limit"}, answers: readAnswers},
	"GET /api/segments":      {summary: "Buyers, cart abandoners and window shoppers", auth: "read", params: []string{"by", "min_product_views"}, answers: readAnswers},
	"GET /api/live": {summary: "Server-Sent Events: an \"event: event\" with the event's JSON for each event of the shop as it is stored; heartbeat comments; a client too far behind gets \"event: dropped\" and the stream ends",
		auth: "read", answers: map[int]string{
			200: "text/event-stream", 400: "an admin key must name the shop", 401: "missing or unknown read key",
			403: "the key may not read that shop", 404: "an admin key named an unknown shop", 503: "too many live streams open: retry after Retry-After",
		}},
	"GET /api/users/{id}/journey": {summary: "One user's events in time order, anonymous history stitched in", auth: "read",
		params: []string{"limit"}, answers: readAnswers},
	"DELETE /api/users/{id}": {summary: "Erase a person's events (privacy request): theirs and their devices' anonymous history; what the server holds is stored first", auth: "read",
		answers: eraseAnswers},
	"GET /api/charts/timeseries.svg": {summary: "/api/timeseries drawn as an SVG line chart (labelled axes; \"No data in this range\" when empty)", auth: "read",
		params: []string{"metric", "interval", "type", "currency", "width", "height"}, answers: svgAnswers},
	"GET /api/charts/funnel.svg": {summary: "/api/funnel drawn as SVG bars with counts and conversion (steps default to product_viewed,add_to_cart,checkout_started,purchase_completed)", auth: "read",
		params: []string{"steps", "by", "window", "width", "height"}, answers: svgAnswers},
	"GET /api/shops": {summary: "The shops the read key may read, with their time zones: its own shop, or every shop for the admin key", auth: "key",
		answers: map[int]string{200: "{\"admin\",\"shops\":[{\"id\",\"timezone\"}]}", 401: "missing or unknown read key"}},
	"GET /dashboard":  {summary: "Redirects to /dashboard/ (relative, so it keeps the mount prefix)", answers: map[int]string{301: "Location: dashboard/"}},
	"GET /dashboard/": {summary: "The analytics dashboard (HTML) and its files; ETag and gzip", answers: map[int]string{200: "the file", 304: "not modified", 404: "no such file"}},
	"GET /api/insights": {summary: "Insights the rules raised, newest first", auth: "read",
		params: []string{"rule", "severity", "since", "include_resolved", "limit"}, answers: insightAnswers},
	"POST /api/insights/run": {summary: "Evaluate every rule for the shop now; the insights this run raised", auth: "read", answers: insightAnswers},
	"GET /api/reports/daily": {summary: "A day's report in the shop's zone: stats, top products, funnel, insights", auth: "read",
		params: []string{"date"}, answers: readAnswers},
})

// withSegment adds the Segment HTTP Tracking API's routes to ops.
func withSegment(ops map[string]operation) map[string]operation {
	for path, kind := range segmentPaths {
		what := "a batch of Segment messages"
		if kind != "" {
			what = "one Segment " + kind + " message"
		}
		ops["POST "+path] = operation{summary: "Segment HTTP Tracking API: " + what + " (Basic auth with the write key, or writeKey in the body; gzip)",
			auth: "write", body: "segment", answers: map[int]string{
				200: "{\"success\":true}, also when some messages were invalid (they are logged)",
				400: "not JSON, or over Segment's limits (500 KB a body, 32 KB a message)",
				401: "missing or unknown write key",
				503: "overloaded: retry after Retry-After",
			}}
		ops["OPTIONS "+path] = operation{summary: "CORS preflight for browsers", answers: map[int]string{204: "allowed"}}
	}
	return ops
}

// openAPI answers GET /openapi.json with the description built once.
func openAPI() http.HandlerFunc {
	b := openAPIDocument()
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	}
}

// openAPIDocument is an OpenAPI 3 description of every route, built from
// operations.
func openAPIDocument() []byte {
	paths := map[string]map[string]any{}
	keys := make([]string, 0, len(operations))
	for k := range operations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		op := operations[k]
		method, path, _ := strings.Cut(k, " ")
		var params []map[string]any
		if strings.Contains(path, "{id}") {
			params = append(params, map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		names := op.params
		if op.auth == "read" {
			names = append(append([]string(nil), sharedReadParams...), op.params...)
		}
		for _, n := range names {
			params = append(params, map[string]any{"name": n, "in": "query", "schema": map[string]string{"type": "string"}})
		}
		responses := map[string]any{}
		for code, desc := range op.answers {
			responses[strconv.Itoa(code)] = map[string]string{"description": desc}
		}
		o := map[string]any{"summary": op.summary, "responses": responses}
		if len(params) > 0 {
			o["parameters"] = params
		}
		switch op.auth {
		case "write":
			o["security"] = []map[string][]string{{"writeKey": {}}, {"writeKeyQuery": {}}}
		case "read", "key":
			o["security"] = []map[string][]string{{"readKey": {}}}
		case "shopify":
			o["security"] = []map[string][]string{{"shopifyHmac": {}}}
		}
		if op.body != "" {
			content := map[string]any{"application/json": map[string]any{"schema": map[string]string{"type": "object"}}}
			if op.body == "events" {
				content["application/x-ndjson"] = map[string]any{"schema": map[string]string{"type": "string"}}
			}
			o["requestBody"] = map[string]any{"required": true, "content": content}
		}
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(method)] = o
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]string{"title": "shoplytics", "version": "1"},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"writeKey":      map[string]string{"type": "http", "scheme": "basic", "description": "the shop's public write key as the user name, empty password"},
			"writeKeyQuery": map[string]string{"type": "apiKey", "in": "query", "name": "key"},
			"readKey":       map[string]string{"type": "http", "scheme": "bearer", "description": "a shop's secret read key, or the admin key"},
			"shopifyHmac": map[string]string{"type": "apiKey", "in": "header", "name": "X-Shopify-Hmac-Sha256",
				"description": "base64 HMAC-SHA256 of the raw body under the shop's shopify_secret (or shopify_previous_secret)"},
		}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("httpapi: the OpenAPI description does not encode: " + err.Error()) // static data
	}
	return append(b, '\n')
}
