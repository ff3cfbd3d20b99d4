package httpapi

import (
	"net/http"
	"time"
)

// SetExportWriteTimeout shortens the export's write deadline of a handler
// New returned, for tests of clients that stop reading.
func SetExportWriteTimeout(h http.Handler, d time.Duration) {
	h.(*handler).exportWriteTimeout = d
}
