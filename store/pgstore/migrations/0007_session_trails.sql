-- session_trails: per sessions row, what an ordered funnel by session
-- needs of it (store.Trail): types, the mask of the canonical types it
-- holds (bit 1 << code); trail, its events of canonical types as (code,
-- microseconds since the previous event, the first since the Unix epoch),
-- a byte and a signed varint each, in time order. Keyed by start first,
-- so that a range of sessions is one range of the key; kept by Append
-- next to sessions, row for row.
CREATE TABLE {{schema}}.session_trails (
	shop_id  text        COLLATE "C" NOT NULL,
	start_ts timestamptz NOT NULL,
	kind     text        COLLATE "C" NOT NULL,
	key      text        COLLATE "C" NOT NULL,
	end_ts   timestamptz NOT NULL,
	types    bigint      NOT NULL,
	trail    bytea       NOT NULL,
	PRIMARY KEY (shop_id, start_ts, kind, key)
);

-- trails_pending: shops whose sessions were rolled up before trails were
-- kept; funnels read their events until a Rebuild fills their trails.
CREATE TABLE {{schema}}.trails_pending (
	shop_id text COLLATE "C" NOT NULL PRIMARY KEY
);

INSERT INTO {{schema}}.trails_pending (shop_id) SELECT DISTINCT shop_id FROM {{schema}}.sessions;
