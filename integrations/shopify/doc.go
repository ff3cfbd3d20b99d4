// Package shopify brings a Shopify shop's orders, refunds, checkouts and
// customers into shoplytics: one mapping from Shopify's objects to
// tracking.Event values, shared by the webhook route of package httpapi
// (POST /webhooks/shopify) and by the historical sync of this package,
// which pages through the Admin API's orders.
//
// # Mapping
//
//   - orders/create, orders/paid, and each order of the sync: one
//     purchase_completed whose id is derived from the order id
//     ("shopify:order:<id>"), so the two webhooks of one order, a webhook
//     retried, and the sync of the same order are one event to the store,
//     which keeps one event per (shop, id). Revenue is total_price exactly,
//     in the order's currency; the customer's id is the user id; the
//     checkout token is the anonymous id (so a guest's order has a person,
//     and the order joins its checkout); the line items are
//     properties.products, which analytics counts for top products; the
//     time is processed_at, else created_at; landing_site and
//     referring_site are the url and referrer, for the breakdowns by page,
//     referrer and utm_*. An order voided without payment is no event.
//   - refunds/create, and each refund inside a synced order: one
//     order_refunded, "shopify:refund:<id>", whose revenue is what the
//     refund's successful refund transactions gave back (a refund without
//     any transaction is valued at its refunded lines, subtotal and tax).
//     Shopify's documented refund payload names only the order, not the
//     customer (its user_id is the staff member who made the refund): such
//     an event's person is "shopify-order:<order id>" as anonymous id; a
//     payload that carries the order's customer gives its id as the user
//     id. The sync reads refunds inside their order and gives them the
//     customer.
//   - orders/cancelled is not mapped: the contract has no event type for a
//     cancellation, and an order_refunded of the whole order would count
//     twice the money the refunds/create of the cancellation's refund
//     already gives back (and invent a refund for an order cancelled
//     unpaid).
//   - checkouts/create: one checkout_started, "shopify:checkout:<token>".
//   - customers/create: one identify of the customer's id; nothing
//     personal (name, e-mail, address) is kept.
//
// Ids are decoded as text, never as float64 (Shopify's ids reach 2^63),
// and amounts are parsed as exact decimals (tracking.ParseMoney). A
// payload holding invalid UTF-8 or an unpaired UTF-16 surrogate escape
// anywhere is refused naming the key it is under, as the event API refuses
// it, rather than decoded with U+FFFD in its place (two ids differing only
// there would be one); the sync skips such an order and counts it.
//
// # Historical sync
//
// [Sync] pages through GET /admin/api/<version>/orders.json?status=any
// with Shopify's page_info cursors, keeps under the Admin API's leaky
// bucket (X-Shopify-Shop-Api-Call-Limit), waits out 429 answers for their
// Retry-After, retries dropped connections with backoff, and saves its
// cursor in the store (store.CheckpointKeeper) after each page's events
// are stored, so a sync that crashed resumes at the page it was on.
package shopify
