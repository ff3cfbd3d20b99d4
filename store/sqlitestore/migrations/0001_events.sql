-- Events, one row each, unique per shop. Absent optional text is NULL (so
-- COUNT(DISTINCT user_id) and friends need no NULLIF); money is an exact
-- integer count of the currency's minor unit, NULL when no amount was given;
-- instants are microseconds since the Unix epoch, UTC.
CREATE TABLE events (
	shop_id       TEXT    NOT NULL,
	id            TEXT    NOT NULL,
	type          TEXT    NOT NULL,
	user_id       TEXT,
	anonymous_id  TEXT,
	session_id    TEXT,
	product_id    TEXT,
	product_name  TEXT,
	category      TEXT,
	price_minor   INTEGER,
	quantity      INTEGER NOT NULL DEFAULT 0,
	revenue_minor INTEGER,
	currency      TEXT,
	order_id      TEXT,
	url           TEXT,
	referrer      TEXT,
	user_agent    TEXT,
	properties    TEXT,
	ts            INTEGER NOT NULL,
	received_at   INTEGER,
	UNIQUE (shop_id, id)
) STRICT;

-- Reads go by shop and time, in (ts, id) order: id in the key lets the index
-- deliver that order without a sort.
CREATE INDEX events_shop_ts ON events (shop_id, ts, id);
CREATE INDEX events_shop_type_ts ON events (shop_id, type, ts, id);
