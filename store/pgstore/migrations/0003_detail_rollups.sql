-- Detail rollups, kept by Append in its transaction for the events it
-- inserts, next to hourly_rollups; analytics reads them for Stats and top
-- products instead of the events. An hour is the instant it starts, UTC.
--
-- sessions: one row per session. kind 's' is a session_id (key) and every
-- event carrying it; 'a' and 'u' are runs of the events of an anonymous_id
-- (or, without one, a user_id) that carry no session_id, split at 30
-- minutes of inactivity. Late events extend, and may join, the rows they
-- fall next to. views counts page_viewed and product_viewed events.
CREATE TABLE {{schema}}.sessions (
	shop_id   text        COLLATE "C" NOT NULL,
	kind      text        COLLATE "C" NOT NULL,
	key       text        COLLATE "C" NOT NULL,
	start_ts  timestamptz NOT NULL,
	end_ts    timestamptz NOT NULL,
	events    bigint      NOT NULL,
	views     bigint      NOT NULL,
	adds      bigint      NOT NULL,
	purchases bigint      NOT NULL,
	PRIMARY KEY (shop_id, kind, key, start_ts)
);

CREATE INDEX sessions_shop_start_idx ON {{schema}}.sessions (shop_id, start_ts);

-- session_hours: the sessions rows rolled up by the hour they start in.
CREATE TABLE {{schema}}.session_hours (
	shop_id       text        COLLATE "C" NOT NULL,
	hour          timestamptz NOT NULL,
	sessions      bigint      NOT NULL,
	buying        bigint      NOT NULL,
	carting       bigint      NOT NULL,
	abandoning    bigint      NOT NULL,
	bounced       bigint      NOT NULL,
	length_micros bigint      NOT NULL,
	PRIMARY KEY (shop_id, hour)
);

-- session_spans: the longest session a shop ever had, in microseconds, so
-- that the sessions open at an instant are found by a bounded index range.
CREATE TABLE {{schema}}.session_spans (
	shop_id text   COLLATE "C" PRIMARY KEY,
	micros  bigint NOT NULL
);

-- person_hours: who was active in each hour, keyed by who first (a read
-- groups a range's rows by person in key order): a user_id (is_user) or an
-- anonymous_id; raw says an event was about it by itself (a user_id, or an
-- anonymous_id of an event without one), linked that an anonymous id came
-- with a user_id.
CREATE TABLE {{schema}}.person_hours (
	shop_id text        COLLATE "C" NOT NULL,
	hour    timestamptz NOT NULL,
	is_user boolean     NOT NULL,
	id      text        COLLATE "C" NOT NULL,
	raw     boolean     NOT NULL,
	linked  boolean     NOT NULL,
	PRIMARY KEY (shop_id, is_user, id, hour)
);

-- identify_links: each anonymous id's earliest identify event (by time,
-- then id): the user it was identified as.
CREATE TABLE {{schema}}.identify_links (
	shop_id      text        COLLATE "C" NOT NULL,
	anonymous_id text        COLLATE "C" NOT NULL,
	user_id      text        NOT NULL,
	ts           timestamptz NOT NULL,
	id           text        COLLATE "C" NOT NULL,
	PRIMARY KEY (shop_id, anonymous_id)
);

-- product_hours: per product, currency and hour (in that order, so that
-- a read groups a range's rows by product without a sort) ('' for views and adds,
-- the order's for what orders sold), product_viewed and add_to_cart events,
-- orders that sold it and the revenue of their lines in minor units;
-- name_key the latest name given, after the time and id of the event that
-- gave it, as text that sorts in their order, so max() keeps the latest
-- (NULL when none was; see store.ProductHour.NameKey).
CREATE TABLE {{schema}}.product_hours (
	shop_id       text        COLLATE "C" NOT NULL,
	hour          timestamptz NOT NULL,
	product_id    text        COLLATE "C" NOT NULL,
	currency      text        COLLATE "C" NOT NULL,
	views         bigint      NOT NULL,
	adds          bigint      NOT NULL,
	purchases     bigint      NOT NULL,
	revenue_minor bigint      NOT NULL,
	name_key      text        COLLATE "C",
	PRIMARY KEY (shop_id, product_id, currency, hour)
);

-- rollup_pending: shops whose events were stored before these tables
-- existed; their detail rollups are not read until a Rebuild fills them.
CREATE TABLE {{schema}}.rollup_pending (
	shop_id text COLLATE "C" PRIMARY KEY
);

INSERT INTO {{schema}}.rollup_pending (shop_id) SELECT DISTINCT shop_id FROM {{schema}}.events;
