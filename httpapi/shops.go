package httpapi

import (
	"net/http"
)

// shopInfo is one shop as GET /api/shops lists it: what a reader needs to
// pick a shop and show its days.
type shopInfo struct {
	ID string `json:"id"`
	// Timezone is the shop's zone, the default tz of its reads ("UTC"
	// when none is set).
	Timezone string `json:"timezone"`
}

// listShops answers GET /api/shops: the shops the read key may read. A
// shop's key sees its own shop, the admin key every configured shop, in
// the order of Config.Shops. "admin" says which, so a page knows whether
// to offer a shop picker.
func (h *handler) listShops(w http.ResponseWriter, r *http.Request) {
	p, err := h.authorizeRead(r)
	if err != nil {
		h.authError(w, AccessRead, err)
		return
	}
	out := []shopInfo{}
	if p.Admin {
		for _, s := range h.cfg.Shops {
			out = append(out, h.shopInfo(s.ID))
		}
	} else if p.ShopID != "" {
		out = append(out, h.shopInfo(p.ShopID))
	}
	writeJSON(w, http.StatusOK, struct {
		Admin bool       `json:"admin"`
		Shops []shopInfo `json:"shops"`
	}{p.Admin, out})
}

func (h *handler) shopInfo(id string) shopInfo {
	return shopInfo{ID: id, Timezone: h.zoneOf(id).String()}
}
