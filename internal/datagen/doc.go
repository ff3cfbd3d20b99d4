// Package datagen generates realistic shop traffic for tests, benchmarks,
// the example server's -demo flag and load generators: anonymous visitors
// browsing, searching and filtering, funnels that lose people at every
// step, purchases with line items in several currencies, identifies,
// refunds, a flash sale, and the awkward cases a real tracker produces.
//
// # Determinism
//
// Everything comes from one PCG generator (math/rand/v2) seeded with
// Options.Seed, and every event is normalised with tracking.Normalize at a
// receipt time of its own computed from the same generator, so the same
// options give the same events, field for field, on every run and
// platform. Ids are derived from the seed, so two seeds fed into one shop
// do not collide.
//
// # What the traffic holds
//
//   - Visitors arrive by a daily rhythm in Options.Zone (quiet nights, busy
//     evenings); each visit is a session with a session_id, except about
//     one in ten, which carry only their anonymous_id so that sessions are
//     cut by 30 minutes of inactivity (some of those come back later the
//     same day). Each day one long visit starts shortly before local
//     midnight and ends after it.
//   - A visit lands on a page_viewed whose url may hold utm_source,
//     utm_medium and utm_campaign and whose referrer names where it came
//     from; then product lists, searches (properties.query) and filters,
//     product views with id, name, category and price, cart adds and
//     removals, the cart, checkout and purchase, each step reached by fewer
//     visits than the one before.
//   - A purchase_completed has an order_id, its line items in
//     properties.products and a revenue that is exactly their sum in the
//     currency's minor unit (whole yen for JPY).
//   - Visitors identify (log in or sign up) after browsing, at checkout;
//     returning customers come back, some on a second device, browse
//     anonymously and identify again, so their history can be stitched.
//   - Some orders are refunded days later (order_refunded).
//   - Halfway through the range a flash sale sends a crowd to one product
//     within ten minutes; few of them buy.
//   - Some events arrive hours after they happened (received_at well
//     after timestamp), and some are sent twice with the same id.
//
// Events are yielded in order of receipt, so late events come after
// events that happened later than they did.
package datagen
