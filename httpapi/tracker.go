package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// trackerJS is the browser tracker, served as GET /tracker.js. It is plain
// JavaScript, written to be read; no build step produces it.
//
//go:embed tracker.js
var trackerJS []byte

// trackerAsset is tracker.js ready to serve: compressed once, with an ETag
// per encoding.
type trackerAsset struct {
	plain, gzipped         []byte
	plainETag, gzippedETag string
}

// tracker is built on first use of any handler and shared by all.
var tracker = newTrackerAsset(trackerJS)

func newTrackerAsset(js []byte) *trackerAsset {
	tag := contentTag(js)
	return &trackerAsset{plain: js, gzipped: gzipBest(js),
		plainETag: `"` + tag + `"`, gzippedETag: `"` + tag + `-gz"`}
}

// gzipBest compresses an embedded file once, at the best compression:
// the cost is paid at start-up, the bytes saved on every answer.
func gzipBest(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		panic("httpapi: gzip: " + err.Error()) // a valid level
	}
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// contentTag is the opaque part of an embedded file's strong ETag: a hash
// of its bytes, so it changes exactly when the file does.
func contentTag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// trackerMaxAge is how long browsers and caches may use tracker.js without
// asking again; after that a revalidation with If-None-Match costs a 304.
const trackerMaxAge = time.Hour

// ServeHTTP answers GET (and HEAD) /tracker.js: gzip when the client
// takes it, 304 when If-None-Match names the copy it has, cacheable by
// anyone (it holds no secret: the write key is given to init).
func (a *trackerAsset) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, tag := a.plain, a.plainETag
	hd := w.Header()
	hd.Set("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, tag = a.gzipped, a.gzippedETag
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(trackerMaxAge.Seconds())))
	hd.Set("X-Content-Type-Options", "nosniff")
	// Readable from any origin, so pages may load it with integrity= and
	// crossorigin=.
	hd.Set("Access-Control-Allow-Origin", "*")
	// Loadable by pages that isolate themselves (Cross-Origin-Embedder-Policy).
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if matched := etagMatch(r.Header.Get("If-None-Match"), a.plainETag, a.gzippedETag); matched != "" {
		// Both copies are the same script: the one the client has is fresh.
		hd.Set("ETag", matched)
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("ETag", tag)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) with a quality
// above zero.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// etagMatch returns the first of tags that an If-None-Match header names
// (weak comparison, as RFC 9110 asks for If-None-Match; "*" names the
// first), or "" when it names none.
func etagMatch(header string, tags ...string) string {
	if header == "" {
		return ""
	}
	for part := range strings.SplitSeq(header, ",") {
		t := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if t == "*" {
			return tags[0]
		}
		for _, tag := range tags {
			if t == tag {
				return tag
			}
		}
	}
	return ""
}
