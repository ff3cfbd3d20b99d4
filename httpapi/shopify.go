package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shoplytics/shoplytics/integrations/shopify"
	"github.com/shoplytics/shoplytics/tracking"
)

// Headers of a Shopify webhook.
const (
	shopifyHMACHeader   = "X-Shopify-Hmac-Sha256"
	shopifyTopicHeader  = "X-Shopify-Topic"
	shopifyDomainHeader = "X-Shopify-Shop-Domain"
	shopifyIDHeader     = "X-Shopify-Webhook-Id"
)

// shopifyCounts counts webhooks by outcome, for /metrics: answered 200
// whatever was done with them, the outcome shows only there and in the log.
type shopifyCounts struct {
	accepted, ignored, dropped, unauthorized atomic.Uint64
}

// shopifyShop is what the webhook route knows of a shop.
type shopifyShop struct {
	id      string
	secrets [][]byte // current, then previous; empty when none is set
}

// shopifyAnswer is the 200 body of POST /webhooks/shopify; Shopify reads
// only the status, people reading logs the rest.
type shopifyAnswer struct {
	Accepted int    `json:"accepted"`
	Ignored  string `json:"ignored,omitempty"`
	Dropped  string `json:"dropped,omitempty"`
}

// shopifyWebhook serves POST /webhooks/shopify.
//
// The shop is ?shop=<id>, else the shop whose ShopifyDomain is the
// X-Shopify-Shop-Domain header (404 when none is). X-Shopify-Hmac-Sha256
// must be the base64 HMAC-SHA256 of the raw body under the shop's
// ShopifySecret or, during a rotation, its ShopifyPreviousSecret, compared
// in constant time; otherwise the answer is 401 and nothing is read
// further. X-Shopify-Topic picks the mapping (package
// integrations/shopify).
//
// Shopify retries every answer but a 2xx for two days, then deletes the
// subscription, so a signed webhook that cannot become an event (a topic
// without a mapping, an order voided unpaid, a payload that does not map)
// is answered 200 all the same and counted in /metrics and the log. 503
// with Retry-After (the ingester's queue is full) is the one failure worth
// a retry.
func (h *handler) shopifyWebhook(w http.ResponseWriter, r *http.Request) {
	shop, ok := h.shopifyShopOf(w, r)
	if !ok {
		return
	}
	if len(shop.secrets) == 0 {
		h.shopify.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, fmt.Sprintf("shop %q has no Shopify webhook secret configured (shopify_secret)", shop.id), "shop")
		return
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(r.Header.Get(shopifyHMACHeader)))
	if err != nil || len(sig) != sha256.Size {
		h.shopify.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, "missing or malformed "+shopifyHMACHeader+": want the base64 HMAC-SHA256 of the body", shopifyHMACHeader)
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && enc != "identity" {
		// The signature is over the bytes Shopify sent, which it never
		// compresses.
		writeError(w, http.StatusUnsupportedMediaType, "unsupported Content-Encoding "+enc, "Content-Encoding")
		return
	}
	ch := charge{b: h.cfg.budget}
	defer ch.release()
	buf, pooled, ok := h.readRequestBody(w, r, h.cfg.MaxBodyBytes, http.StatusRequestEntityTooLarge, &ch)
	defer func() { putBody(pooled, buf) }()
	if !ok {
		return
	}
	if !validShopifySignature(buf, sig, shop.secrets) {
		h.shopify.unauthorized.Add(1)
		writeError(w, http.StatusUnauthorized, shopifyHMACHeader+" does not match the body under the shop's secret", shopifyHMACHeader)
		return
	}
	topic := r.Header.Get(shopifyTopicHeader)
	if topic == "" {
		writeError(w, http.StatusBadRequest, shopifyTopicHeader+" is required", shopifyTopicHeader)
		return
	}
	// Mapping decodes through encoding/json, like a Segment body.
	if !h.afford(w, &ch, 2*decodeCost(int64(len(buf)))+eventCost) {
		return
	}
	webhookID := r.Header.Get(shopifyIDHeader)
	e, err := shopify.Webhook(topic, buf, webhookID)
	if err == nil {
		err = tracking.Normalize(&e, time.Time{}, tracking.NormalizeOptions{Now: h.cfg.Now(), ShopID: shop.id})
	}
	switch {
	case errors.Is(err, shopify.ErrUnknownTopic), errors.Is(err, shopify.ErrNothingToRecord):
		h.shopify.ignored.Add(1)
		writeJSON(w, http.StatusOK, shopifyAnswer{Ignored: err.Error()})
		return
	case err != nil:
		h.shopify.dropped.Add(1)
		h.cfg.Logger.Warn("httpapi: Shopify webhook dropped: it does not map to a valid event", "shop", shop.id,
			"topic", topic, "webhook_id", webhookID, "error", err.Error())
		writeJSON(w, http.StatusOK, shopifyAnswer{Dropped: err.Error()})
		return
	}
	if _, _, err := h.take(r, []tracking.Event{e}); h.takeFailed(w, r, err, http.StatusServiceUnavailable, "events") {
		return
	}
	h.shopify.accepted.Add(1)
	writeJSON(w, http.StatusOK, shopifyAnswer{Accepted: 1})
}

// shopifyShopOf finds the shop a webhook is for, or answers 404 (or 400
// when ?shop= and X-Shopify-Shop-Domain disagree, a registration pointing
// at the wrong shop).
func (h *handler) shopifyShopOf(w http.ResponseWriter, r *http.Request) (shopifyShop, bool) {
	domain := strings.ToLower(strings.TrimSpace(r.Header.Get(shopifyDomainHeader)))
	if id := r.URL.Query().Get("shop"); id != "" {
		s, ok := h.shopifyShops[id]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no shop %q", id), "shop")
			return shopifyShop{}, false
		}
		if other, known := h.shopifyDomains[domain]; known && other != id {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s %q is shop %q's, not %q's", shopifyDomainHeader, domain, other, id), shopifyDomainHeader)
			return shopifyShop{}, false
		}
		return s, true
	}
	if domain == "" {
		writeError(w, http.StatusNotFound, "no shop named: add ?shop=<shop id> to the webhook URL, or set the shop's shopify_domain", "shop")
		return shopifyShop{}, false
	}
	id, ok := h.shopifyDomains[domain]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no shop has shopify_domain %q", domain), shopifyDomainHeader)
		return shopifyShop{}, false
	}
	return h.shopifyShops[id], true
}

// validShopifySignature reports whether sig is the HMAC-SHA256 of body
// under one of secrets. Every secret is tried, so the time taken does not
// tell which one matched.
func validShopifySignature(body, sig []byte, secrets [][]byte) bool {
	ok := false
	for _, s := range secrets {
		mac := hmac.New(sha256.New, s)
		mac.Write(body)
		if hmac.Equal(mac.Sum(nil), sig) {
			ok = true
		}
	}
	return ok
}

// newShopifyShops indexes the configured shops for the webhook route.
func newShopifyShops(shops []Shop) (byID map[string]shopifyShop, byDomain map[string]string) {
	byID, byDomain = map[string]shopifyShop{}, map[string]string{}
	for _, s := range shops {
		ss := shopifyShop{id: s.ID}
		for _, secret := range []string{s.ShopifySecret, s.ShopifyPreviousSecret} {
			if secret != "" {
				ss.secrets = append(ss.secrets, []byte(secret))
			}
		}
		byID[s.ID] = ss
		if s.ShopifyDomain != "" {
			byDomain[strings.ToLower(s.ShopifyDomain)] = s.ID
		}
	}
	return byID, byDomain
}
