package httpapi

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shoplytics/shoplytics/store"
	"github.com/shoplytics/shoplytics/tracking"
)

func isUnavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// defaultExportWriteTimeout is how long one write of an export to its
// client may take. A client that stops reading is cut after it, and the
// export's database connection and rows go back to the store, instead of
// staying held for as long as the client keeps its connection open.
const defaultExportWriteTimeout = 30 * time.Second

// csvHeader is the export's CSV header: the event's JSON field names.
var csvHeader = []string{
	"id", "shop_id", "type", "user_id", "anonymous_id", "session_id",
	"product_id", "product_name", "category", "price", "quantity", "revenue",
	"currency", "order_id", "url", "referrer", "user_agent", "properties",
	"timestamp", "received_at",
}

// export streams the shop's raw events for the range in time order, as
// NDJSON or CSV, straight from the store: memory stays flat however many
// events there are, and a client that goes away cancels the query. CSV
// cells that a spreadsheet would take for a formula are neutralised (see
// safeCell); NDJSON is written exactly as stored. Each write to the client
// has a deadline (defaultExportWriteTimeout), so a client that stops
// reading is cut and the store's read released.
func (h *handler) export(w http.ResponseWriter, r *http.Request, rp readParams) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "ndjson"
	}
	if format != "ndjson" && format != "csv" {
		writeError(w, http.StatusBadRequest, "format must be ndjson or csv", "format")
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	events := h.cfg.Store.Events(ctx, store.Filter{ShopID: rp.ShopID, From: rp.From, To: rp.To})
	next, stop := iter.Pull2(events)
	defer func() {
		// Cancel first: a store that watches ctx then drops the query at
		// once, rather than reading the rest of its result to end it.
		cancel()
		stop()
	}()
	// Ask for the first event before answering, so a store that is down
	// gets a proper error status rather than an empty file.
	first, err, ok := next()
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	name := fmt.Sprintf("shoplytics-%s-%s-%s.%s", fileSafe(rp.ShopID),
		rp.From.Format("20060102T150405Z"), rp.To.Format("20060102T150405Z"), format)
	hd := w.Header()
	if format == "csv" {
		hd.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		hd.Set("Content-Type", "application/x-ndjson")
	}
	hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	hd.Set("Cache-Control", "no-store")
	// The write deadlines stay on the connection after the answer, and
	// would cut the next request on it: the export is its last.
	hd.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(&deadlineWriter{w: w, rc: http.NewResponseController(w),
		timeout: cmp.Or(h.exportWriteTimeout, defaultExportWriteTimeout)}, 64<<10)
	var write func(e *tracking.Event) error
	finish := bw.Flush
	if format == "csv" {
		cw := csv.NewWriter(bw)
		if err := cw.Write(csvHeader); err != nil {
			return
		}
		rec := make([]string, len(csvHeader))
		write = func(e *tracking.Event) error {
			csvRecord(rec, e)
			return cw.Write(rec)
		}
		finish = func() error {
			cw.Flush()
			return bw.Flush()
		}
	} else {
		var line []byte
		write = func(e *tracking.Event) error {
			line = append(e.AppendJSON(line[:0]), '\n')
			_, err := bw.Write(line)
			return err
		}
	}
	for ok {
		if err := write(&first); err != nil {
			return // the client went away
		}
		first, err, ok = next()
		if err != nil {
			// Headers are gone: abort the connection so the client sees a
			// truncated transfer, not a complete-looking file.
			h.cfg.Logger.Error("httpapi: export failed mid-stream", "shop", rp.ShopID, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
	_ = finish()
}

// deadlineWriter gives each write to the client a deadline of timeout
// from its start. A ResponseWriter that cannot take deadlines (a
// middleware's that does not unwrap) is written to without one.
type deadlineWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.w.Write(p)
}

func csvRecord(rec []string, e *tracking.Event) {
	money := func(m tracking.Money) string {
		if m.IsZero() {
			return ""
		}
		return m.String()
	}
	instant := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	qty := ""
	if e.Quantity != 0 {
		qty = strconv.FormatInt(e.Quantity, 10)
	}
	copy(rec, []string{
		safeCell(e.ID), e.ShopID, e.Type, safeCell(e.UserID), safeCell(e.AnonymousID), safeCell(e.SessionID),
		safeCell(e.ProductID), safeCell(e.ProductName), safeCell(e.Category), money(e.Price), qty, money(e.Revenue),
		e.Currency, safeCell(e.OrderID), safeCell(e.URL), safeCell(e.Referrer), safeCell(e.UserAgent), string(e.Properties),
		instant(e.Timestamp), instant(e.ReceivedAt),
	})
}

// safeCell neutralises a client-sent value that a spreadsheet would run as
// a formula (CSV injection): as OWASP recommends, a cell that begins with
// =, +, -, @, a tab or a carriage return gets a leading single quote, which
// spreadsheets show as text. Shop ids, types and currencies are validated
// to a safe alphabet, properties always begin with "{", and the numbers
// and times are written by the server.
func safeCell(v string) string {
	if v != "" && strings.IndexByte("=+-@\t\r", v[0]) >= 0 {
		return "'" + v
	}
	return v
}

// fileSafe keeps the characters a file name in a header may hold plainly.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
