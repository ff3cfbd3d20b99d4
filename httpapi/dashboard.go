package httpapi

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// The dashboard is a static page (httpapi/dashboard: index.html, app.js,
// style.css) that reads the API with the reader's key: it holds no data
// and no secret, so it is served to anyone. Every URL it uses is relative,
// so it works wherever the handler is mounted.

//go:embed dashboard
var dashboardFS embed.FS

// dashboardAsset is one embedded file, with what its answers need worked
// out once.
type dashboardAsset struct {
	body, gzipped []byte // gzipped is nil when gzip does not make it smaller
	contentType   string
	etag          string // strong, of the body; the gzipped answer's adds -gz
}

// dashboardAssets are the embedded files by name ("index.html").
var dashboardAssets = loadDashboardAssets()

func loadDashboardAssets() map[string]*dashboardAsset {
	assets := map[string]*dashboardAsset{}
	sub, err := fs.Sub(dashboardFS, "dashboard")
	if err != nil {
		panic("httpapi: dashboard files: " + err.Error()) // embedded at build time
	}
	err = fs.WalkDir(sub, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, name)
		if err != nil {
			return err
		}
		a := &dashboardAsset{body: body, etag: contentTag(body)}
		a.contentType = mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) { // not left to the system's MIME table
		case ".html":
			a.contentType = "text/html; charset=utf-8"
		case ".js":
			a.contentType = "text/javascript; charset=utf-8"
		case ".css":
			a.contentType = "text/css; charset=utf-8"
		case ".svg":
			a.contentType = "image/svg+xml"
		}
		if a.contentType == "" {
			a.contentType = "application/octet-stream"
		}
		if gz := gzipBest(body); len(gz) < len(body) {
			a.gzipped = gz
		}
		assets[name] = a
		return nil
	})
	if err != nil {
		panic("httpapi: dashboard files: " + err.Error())
	}
	return assets
}

// dashboardRedirect answers GET /dashboard with a redirect to
// /dashboard/. The Location is relative ("dashboard/"), so that behind
// http.StripPrefix it keeps the prefix the handler cannot see.
func (h *handler) dashboardRedirect(w http.ResponseWriter, r *http.Request) {
	loc := "dashboard/"
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
}

// dashboard answers GET /dashboard/ and the files under it. Answers carry
// a strong ETag and "Cache-Control: no-cache": a browser keeps them and
// asks each time whether they changed (304), so a new version of the
// dashboard is seen at once and an unchanged one costs no transfer.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/dashboard/")
	if name == "" {
		name = "index.html"
	}
	a := dashboardAssets[name]
	if a == nil {
		writeError(w, http.StatusNotFound, "no such file in the dashboard", "")
		return
	}
	hd := w.Header()
	body, etag := a.body, `"`+a.etag+`"`
	if a.gzipped != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gzipped, `"`+a.etag+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		// Scripts and styles only from the dashboard's own files; data
		// only from this server; never framed by another site.
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "+
			"connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")
		hd.Set("Referrer-Policy", "no-referrer")
	}
	if etagMatch(r.Header.Get("If-None-Match"), `"`+a.etag+`"`, `"`+a.etag+`-gz"`) != "" {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
