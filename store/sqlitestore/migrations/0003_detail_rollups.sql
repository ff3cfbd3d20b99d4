-- Detail rollups, kept by Append in its transaction for the events it
-- inserts, next to hourly_rollups; analytics reads them for Stats and top
-- products instead of the events. Instants are microseconds since the Unix
-- epoch, UTC; an hour is the instant it starts.
--
-- sessions: one row per session. kind 's' is a session_id (key) and every
-- event carrying it; 'a' and 'u' are runs of the events of an anonymous_id
-- (or, without one, a user_id) that carry no session_id, split at 30
-- minutes of inactivity. Late events extend, and may join, the rows they
-- fall next to. views counts page_viewed and product_viewed events.
CREATE TABLE sessions (
	shop_id   TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	start_ts  INTEGER NOT NULL,
	end_ts    INTEGER NOT NULL,
	events    INTEGER NOT NULL,
	views     INTEGER NOT NULL,
	adds      INTEGER NOT NULL,
	purchases INTEGER NOT NULL,
	PRIMARY KEY (shop_id, kind, key, start_ts)
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_shop_start ON sessions (shop_id, start_ts);

-- session_hours: the sessions rows rolled up by the hour they start in.
CREATE TABLE session_hours (
	shop_id       TEXT    NOT NULL,
	hour          INTEGER NOT NULL,
	sessions      INTEGER NOT NULL,
	buying        INTEGER NOT NULL,
	carting       INTEGER NOT NULL,
	abandoning    INTEGER NOT NULL,
	bounced       INTEGER NOT NULL,
	length_micros INTEGER NOT NULL,
	PRIMARY KEY (shop_id, hour)
) STRICT, WITHOUT ROWID;

-- session_spans: the longest session a shop ever had, in microseconds, so
-- that the sessions open at an instant are found by a bounded index range.
CREATE TABLE session_spans (
	shop_id TEXT    NOT NULL PRIMARY KEY,
	micros  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- person_hours: who was active in each hour, keyed by who first: a read
-- groups a range's rows by person in key order, without a sort. is_user 1 is a user_id, 0 an
-- anonymous_id; raw says an event was about it by itself (a user_id, or an
-- anonymous_id of an event without one), linked that an anonymous id came
-- with a user_id.
CREATE TABLE person_hours (
	shop_id TEXT    NOT NULL,
	hour    INTEGER NOT NULL,
	is_user INTEGER NOT NULL,
	id      TEXT    NOT NULL,
	raw     INTEGER NOT NULL,
	linked  INTEGER NOT NULL,
	PRIMARY KEY (shop_id, is_user, id, hour)
) STRICT, WITHOUT ROWID;

-- identify_links: each anonymous id's earliest identify event (by time,
-- then id): the user it was identified as.
CREATE TABLE identify_links (
	shop_id      TEXT    NOT NULL,
	anonymous_id TEXT    NOT NULL,
	user_id      TEXT    NOT NULL,
	ts           INTEGER NOT NULL,
	id           TEXT    NOT NULL,
	PRIMARY KEY (shop_id, anonymous_id)
) STRICT, WITHOUT ROWID;

-- product_hours: per product, currency and hour (in that order, so that
-- a read groups a range's rows by product without a sort) ('' for views and adds,
-- the order's for what orders sold), product_viewed and add_to_cart events,
-- orders that sold it and the revenue of their lines in minor units;
-- name_key the latest name given, after the time and id of the event that
-- gave it, as text that sorts in their order, so max() keeps the latest
-- (NULL when none was; see store.ProductHour.NameKey).
CREATE TABLE product_hours (
	shop_id       TEXT    NOT NULL,
	hour          INTEGER NOT NULL,
	product_id    TEXT    NOT NULL,
	currency      TEXT    NOT NULL,
	views         INTEGER NOT NULL,
	adds          INTEGER NOT NULL,
	purchases     INTEGER NOT NULL,
	revenue_minor INTEGER NOT NULL,
	name_key      TEXT,
	PRIMARY KEY (shop_id, product_id, currency, hour)
) STRICT, WITHOUT ROWID;

-- rollup_pending: shops whose events were stored before these tables
-- existed; their detail rollups are not read until a Rebuild fills them.
CREATE TABLE rollup_pending (
	shop_id TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

INSERT INTO rollup_pending (shop_id) SELECT DISTINCT shop_id FROM events;
