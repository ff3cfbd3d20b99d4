// Package httpapi is the shoplytics HTTP handler: event ingestion, the read
// API and health, served relative to wherever it is mounted.
//
// # Mounting
//
// [New] returns an http.Handler whose paths are relative, so it mounts under
// any prefix on any router:
//
//	mux.Handle("/analytics/", http.StripPrefix("/analytics", h))
//
// [Run] serves an application's http.Server until its context ends (a
// signal), then shuts the server down before the Ingester, so that every
// event answered 202 is stored before it returns.
//
// # Keys
//
// A write key is public (it ships in web pages), bound to one shop, and may
// only send events: as the HTTP Basic user name, ?key=, or writeKey in the
// body. A read key is secret and bound to one shop; the admin key reads every
// shop and must name it. Both are sent as "Authorization: Bearer". Keys are
// found by their SHA-256 and compared in constant time. An application with
// its own authentication sets Config.Authorize instead.
//
// # Ingestion
//
// POST /events takes one event, an array, {"batch":[...]} or NDJSON, gzip or
// not, and answers 202 with what was accepted, duplicated within the request
// and rejected (by index, naming the field). The answer lists at most
// Config.MaxRejections rejected events, the first by index, and counts them
// all in "rejected_count":
//
//	{"accepted":1,"duplicates":0,"rejected":[{"index":0,"error":"...","field":"type"}],"rejected_count":1}
//
// Accepted events go to the Ingester; when its queue is full the answer is
// 503 with Retry-After, and nothing is taken from that request. A body over
// Config.MaxBodyBytes, or of more than tracking.MaxBatchLen events, is 413.
// With Config.Durable the answer waits until the events are committed in
// the store (concurrent requests share a batch), and "duplicates" then
// also counts the ids the store had already.
//
// # Hostile bodies
//
// A write key is public and may travel inside the body, so a body has to
// be read and decoded before the request is known to be authorised. A key
// outside the body (the Basic user name, ?key=, or Config.Authorize) is
// checked first, and a wrong one is refused before a byte of the body is
// read. Every other body is read under a server-wide budget,
// Config.MaxDecodingBytes: decoding allocates several times a body's size,
// and the budget is charged, with one atomic addition, before the first
// byte is read, as the body grows, then for its decoding and its events,
// by figures a test measures over bodies of every shape. A request the
// budget has no room for is answered 503 with Retry-After at once. A body
// of more than tracking.MaxBatchLen events is refused while its elements
// are counted, before anything is kept for each of them.
//
// # Reads
//
// Read routes share one parser for shop, from, to (RFC 3339 or YYYY-MM-DD,
// to exclusive, default the last 30 days, within the years 1970 to 9999)
// and tz (default the shop's Timezone, else UTC). An admin key naming a shop
// that is not configured gets 404. GET /api/counts counts events by type;
// GET /api/export streams raw events as NDJSON or CSV in constant memory.
// Every error is JSON: {"error":"...","field":"..."}. DELETE /api/users/{id} erases a person's events
// (store.Eraser), after storing what the ingester holds.
//
// # Dashboard and charts
//
// GET /dashboard/ is the analytics dashboard: static files embedded in the
// binary (httpapi/dashboard), served with a strong ETag, "Cache-Control:
// no-cache" and gzip, and GET /dashboard redirects to it with a relative
// Location so a mount prefix survives. The page holds no data: the reader
// signs in with a read key, kept in the tab's sessionStorage and sent as a
// bearer key, and every URL it uses is relative, so it works offline and
// under any prefix. GET /api/shops lists the shops the key may read, with
// their zones, for the admin key's shop picker.
//
// GET /api/charts/timeseries.svg and GET /api/charts/funnel.svg draw what
// /api/timeseries and /api/funnel answer, on the server, as SVG (package
// internal/chart, on go-analyze/charts), with the same keys and parameters
// plus width and height; an empty range draws "No data in this range".
//
// # Browser tracker
//
// GET /tracker.js is the browser tracker, a plain script embedded in the
// package (tracker.js in its source): gzipped once when the package loads,
// served with an ETag per encoding (If-None-Match answers 304) and an hour
// of Cache-Control, and under 5 KiB gzipped (a test holds it). It posts to
// POST /events of the handler it came from, found from its own URL, so it
// works wherever the handler is mounted; the write key travels as ?key=,
// since navigator.sendBeacon cannot set headers, and bodies are
// text/plain JSON, which keeps cross-origin sends free of a preflight.
//
// # Live feed
//
// GET /api/live is Server-Sent Events for one shop (a read key, or the admin
// key with ?shop=): an "event: event" whose data is the event's JSON for
// each event the store inserts from then on (duplicates are not sent
// again), flushed as it comes, with a comment line every
// Config.LiveHeartbeat. The handler watches its Config.Ingester through
// ingest.Ingester.Observe while a stream is open, so an application needs no
// hook of its own for it. A stream buffers at most Config.LiveBufferBytes
// for its client; a client further behind (slow, or not reading at all) is
// sent "event: dropped" if it still reads, and its stream ends, so it never
// holds the ingester or another client. At most Config.MaxLiveStreams are
// open at once, Config.MaxLiveStreamsPerShop of one shop's; past either the
// answer is 503 with Retry-After. Browsers' EventSource cannot send
// an Authorization header: read the stream with fetch and its body's
// ReadableStream, which can. [Run] ends the open streams when it stops
// (see [EndStreamsOnShutdown] for a server of your own).
//
// # Insights
//
// With Config.Insights (an insights.Engine), GET /api/insights lists the
// shop's insights newest first (rule, severity, since, include_resolved,
// limit), and POST /api/insights/run (a read or admin key) evaluates every
// rule for the shop now, answering what this run raised; without one both
// answer 501. GET /api/reports/daily?date=YYYY-MM-DD (default yesterday) is
// the day's report in the shop's zone: stats, top products, funnel and the
// insights raised that day.
//
// # Operations
//
// GET /health is {"status":"ok"}, or 503 when the store does not answer a
// ping within 2 s or has failed the ingester's writes for longer than that.
// GET /metrics is the ingester's counters (queue, spool, stored, refused,
// retries) and the process's, in Prometheus text format; it holds nothing
// per shop.
//
// # CSV export and spreadsheets
//
// Event fields come from clients, and a spreadsheet runs a cell beginning
// with =, +, -, @, a tab or a carriage return as a formula (CSV injection).
// As OWASP recommends, the CSV export writes such a client-sent value with
// a leading single quote ('=1+1), which spreadsheets show as text. The
// NDJSON export is the stored data, unchanged.
package httpapi
