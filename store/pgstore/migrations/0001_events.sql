-- Events, one row per (shop_id, id). Absent strings, amounts and properties
-- are NULL; money is an exact count of the currency's minor unit. The key
-- columns compare bytewise (COLLATE "C"): ids sort as Go sorts them whatever
-- the database's locale, and index maintenance skips locale-aware comparison.
CREATE TABLE {{schema}}.events (
	shop_id      text        COLLATE "C" NOT NULL,
	id           text        COLLATE "C" NOT NULL,
	type         text        COLLATE "C" NOT NULL,
	user_id      text,
	anonymous_id text,
	session_id   text,
	product_id   text,
	product_name text,
	category     text,
	price        bigint,
	quantity     bigint      NOT NULL DEFAULT 0,
	revenue      bigint,
	currency     text,
	order_id     text,
	url          text,
	referrer     text,
	user_agent   text,
	properties   jsonb,
	ts           timestamptz NOT NULL,
	received_at  timestamptz,
	CONSTRAINT events_shop_id_id_key UNIQUE (shop_id, id)
);

CREATE INDEX events_shop_ts_id_idx ON {{schema}}.events (shop_id, ts, id);
CREATE INDEX events_shop_type_ts_idx ON {{schema}}.events (shop_id, type, ts);
