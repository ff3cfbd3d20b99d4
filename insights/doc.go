// Package insights turns a shop's figures into findings a shop owner can
// act on, and says why: each insight names what it is about, how bad it
// is, says so in plain words with the figures, and carries its evidence —
// the exact numbers, the window and the thresholds it was judged by.
//
// # Rules
//
// A Rule evaluates one shop at one instant (Env) and returns what holds.
// Rules read the events only through package analytics, so a store with
// rollups answers them without reading every event. The built-in rules
// (Builtin), each with an options struct whose zero value is its
// documented default and a minimum sample below which it stays silent:
//
//   - high_interest_no_purchase (HighInterest): a product viewed at least
//     50 times in 24 hours and never bought; warning.
//   - flash_sale (FlashSale): at least 100 views and at most 5 purchases of
//     one product in a 10-minute window sliding every 5 minutes; critical.
//   - cart_conversion (CartConversion): a product added to carts at least
//     20 times in 24 hours, purchases at most 10 % of adds; warning.
//   - cart_abandonment (CartAbandonment): more than 75 % of at least 20
//     sessions with a cart in 24 hours did not buy, naming the products
//     most often left behind; warning.
//   - sales_pulse (SalesPulse): the purchases of the last hour, per
//     currency; info.
//   - revenue_drop (RevenueDrop): today's revenue so far, per currency, at
//     least 50 % below the same hours of the same weekday over the last 4
//     weeks; silent unless every one of those weeks had 5 orders; warning.
//   - conversion_drop (ConversionDrop): the same for the conversion rate
//     (sessions with a purchase ÷ sessions), 30 % below, 50 sessions in
//     every period; warning.
//   - trending_product (Trending): a product with at least 30 views in the
//     last hour and three times those of the hour before; info.
//   - refund_spike (RefundSpike): at least 5 refunds in 24 hours and twice
//     the mean of the 7 days before; warning.
//
// Windows end on a multiple of the rule's slide (5 minutes, an hour), so
// every evaluation within one slide sees the same window and engines in
// several processes find the same thing with the same id (InsightID).
// Threshold rules defined as data (Threshold) let a shop add a rule
// without writing Go.
//
// # Engine
//
// An Engine evaluates a set of rules for a shop at a time given by its
// clock (injectable, for tests and backfills). A finding that holds is
// raised once: not again while it holds, nor within the rule's cooldown
// (the same rule about the same subject), whoever evaluates. A raised
// insight that stops holding is resolved (resolved_at set), never deleted.
//
// # Keeping
//
// Insights and their cooldowns are kept by the store when it is a
// store.InsightKeeper (memstore, sqlitestore, pgstore, a redisstore with a
// SQL sink), so they survive restarts and are shared by every process;
// raising is atomic there, so two engines evaluating one shop at once
// raise each insight once. Otherwise the engine keeps them in memory.
//
// # Scheduling and notifying
//
// A Scheduler runs the engine for every shop on an interval (default 5
// minutes, with jitter, never two runs of one shop at once), hands what it
// raised to a Notifier (WebhookNotifier, LogNotifier) and, after midnight
// in each shop's zone, makes the day's Report.
package insights
