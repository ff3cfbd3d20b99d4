// Package analytics answers questions about a shop's events: counts by
// type, a summary (Stats), time series, funnels, top products and
// customers, retention cohorts, sessions, a user's journey, breakdowns by
// a dimension and segments.
//
// Every function takes a Query (one shop, a range [From, To), a zone) and
// an options struct whose zero value is a documented default. An invalid
// option is an *OptionError naming it by the read API's parameter name.
//
// # Generic and pushed down
//
// Every function has one generic implementation that streams
// store.Store.Events, so any backend answers every question; its memory
// grows with the sessions, users or products of the range, never with its
// events. Each is an aggregation over the stream, kept apart from the
// reading, so that a store offering an optional capability for the
// question can answer instead, falling back on errors.ErrUnsupported;
// both paths must give identical answers, and tests compare them on the
// same data.
//
// A store with hourly rollups (store.HourlyReader: events, orders and
// order totals per UTC hour, type and currency) answers Counts, and
// TimeSeries of events, orders and revenue, without reading events: the
// rollups cover the whole hours of the range and the events themselves the
// part of an hour at either end. A time series takes them only when the
// query's zone is a whole number of hours from UTC throughout the range,
// by the zone's rules (UTC, Europe/Berlin, America/New_York; not
// Asia/Kolkata, Asia/Kathmandu or Australia/Adelaide), so that each
// rollup hour falls in one local hour, day or week; otherwise it reads
// the events. Counts falls back to store.TypeCounter, then to the events.
//
// A store with the detail rollups (store.SessionReader, PeopleReader,
// ProductReader) also answers Stats and TopProducts. TopProducts sums the
// product rollup of the range's whole UTC hours and rolls up the events
// of the part of an hour at either end. Stats takes them when both bounds
// are whole UTC hours (else it reads the events): counts and revenue from
// the hourly rollup; sessions and their rates from the sessions rolled up
// by the hour they start, taking out those still open at To and counting
// the sessions open at either bound again over their events inside the
// range (read from the events within the longest session of the bound);
// users counted by the store from who was active per hour and the
// identify links; the top product from the product rollup. Users is the
// part that grows with the data (a row per person and hour of the range).
//
// # Definitions
//
// Sessions. A session is the session_id of its events when they have one.
// Events without one belong to their device, the anonymous_id (else the
// user_id), and are split into sessions at SessionGap (30 minutes) of
// inactivity: an event 30 minutes or more after the previous event of the
// device starts a new session. Such a session's id is the device id and its
// start, "a1@2026-03-01T10:00:00Z". Only the range's events count, so a
// session crossing a bound is cut there. A session belongs to its first
// user_id, else to its first anonymous id as resolved (below).
//
// Users. Users are distinct people: the user_id of an event, or the user
// its anonymous_id was identified as, else the anonymous_id. An anonymous
// id is identified as a user by an identify event of the shop at any time
// (a visitor identified last month is the same person this month), or by
// any event of the range carrying both ids. When an anonymous id is linked
// to several users, the earliest link (by timestamp, then event id) holds.
// An event's own user_id always wins over its anonymous id's link. User ids
// are never merged with each other, and an anonymous id is never taken for
// a user id of the same text. Functions count users over raw ids as they
// stream and resolve them at the end, since a link may come after the
// anonymous events it explains; a funnel by user and a journey read the
// range twice instead.
//
// Counts. events is every event of the range; page_views, product_views,
// add_to_carts, checkouts and purchases count page_viewed, product_viewed,
// add_to_cart, checkout_started and purchase_completed events.
//
// Rates. A rate is a percentage rounded half-up to two decimals, computed
// in integers and given as the float64 nearest that decimal (12.5, 33.33);
// 0 when its denominator is 0. conversion_rate = sessions with a purchase
// ÷ sessions; cart_abandonment_rate = sessions with an add_to_cart and no
// purchase ÷ sessions with an add_to_cart; bounce_rate = sessions of
// exactly one event, a page_viewed or product_viewed ÷ sessions.
// avg_session_seconds is the mean of last event − first event over
// sessions, in seconds rounded half-up to two decimals (a one-event
// session lasts 0 s).
//
// Money. Amounts are summed as int64 minor units per currency, never
// through float64, and never across currencies; answers show them with
// the currency's minor-unit digits ("19.99", "500" for JPY). An order is a
// purchase_completed event; its amount is its revenue (order total) in its
// currency. Refunds are events of their own and not subtracted. An
// average is rounded half-up to the minor unit. Where one figure holds
// revenue (a revenue time series, top products, top customers), it is in
// one currency: the one asked for, else the one with the most orders in
// the range (ties: the first code alphabetically), else DefaultCurrency;
// the answer names it.
//
// Products. A product's views and adds are the product_viewed and
// add_to_cart events naming it. What an order sold is its line items,
// properties.products (each with product_id as a string or a number, name
// or product_name, category, price in the order's currency, quantity
// defaulting to 1; a line without a product id is skipped, one whose
// price does not parse adds no revenue), or when it has none its
// product_id, sold for the whole order total. A product's purchases are
// the orders that sold it (once per order however many lines), its
// revenue the sum of its lines' price × quantity. Its name is the latest
// non-empty one of those events and lines. Stats' top_product_id is the
// product with the most purchases, ties to more views, then the smaller
// id; "" when no event names one.
//
// Buckets. Time series buckets and retention periods are cut in the
// query's zone: an hour bucket starts at a local hour (labelled with its
// RFC 3339 instant in the zone, so a repeated hour of autumn has two
// buckets), a day at local midnight (23 or 25 hours across a daylight
// saving change), a week on Monday (ISO 8601); days and weeks are
// labelled with their first local date, YYYY-MM-DD. The first bucket is
// the one holding From, so it may start before From; every bucket to To is
// present, 0 when empty; more than MaxPoints is refused. A time series of
// users counts the distinct users with an event in the bucket; of sessions,
// the sessions whose first event is in it.
//
// Funnels. A session or user reaches step k when it has events of steps
// 1..k in that order, each at or after the previous (events at one
// instant are taken in the order of the steps they are, whatever their
// ids), all within
// the window of the step-1 event (inclusive; no window by default). Other
// events may lie between steps (PostHog's ordered funnel, ClickHouse's
// windowFunnel), and one event fills one step of an attempt. Each step-1
// event starts an attempt, which takes for each next step the first event
// of that step after its previous one and ends at the first that is
// outside the window. The attempt counted, whose times give the medians,
// is the one that reaches the furthest step first; of those that reach it
// with the same event, the one that started last. Counts are of distinct
// sessions or users; conversion_from_previous and conversion_from_start
// are rates (100 at step 1 when anyone entered); the median time from the
// previous step is in seconds rounded half-up to two decimals (the mean of
// the two middle values for an even number), null for step 1 and for a
// step nobody reached.
//
// Retention. A user's cohort is the period (day or week, in the zone) of
// their first event in the range; retained[n] counts the cohort's users
// with any event n periods later, so retained[0] is the cohort's size.
// Every period of the range has a cohort, empty ones too, each running to
// the range's last period.
//
// Breakdowns. product, category and page are per event (page is the url's
// path; a purchase with line items counts under each product or category
// once, with the lines' revenue); referrer (the referrer's host, Direct
// when empty) and utm_source, utm_medium, utm_campaign (parameters of the
// url, None when absent) belong to a session and are taken from its
// landing event, its first with a url or a referrer, so a purchase is
// credited to the source that brought the visit. Rows are most events
// first, ties by value.
//
// Segments. buyers made a purchase; cart_abandoners added to a cart and
// made no purchase; window_shoppers viewed products at least
// MinProductViews times (default 3) and made no purchase. They are of
// users (default) or sessions and may overlap; share is a rate of all
// users or sessions with an event; examples are the smallest five ids.
//
// Journeys. A user's journey is every event of the range whose user, as
// resolved above, is them: their own events and the anonymous events of
// every device identified as theirs, before the identify too.
package analytics
