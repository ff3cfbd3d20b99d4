-- session_trails: per sessions row, what an ordered funnel by session
-- needs of it (store.Trail): types, the mask of the canonical types it
-- holds (bit 1 << code); trail, its events of canonical types as (code,
-- microseconds since the previous event, the first since the Unix epoch),
-- a byte and a signed varint each, in time order. Keyed by start first,
-- so that a range of sessions is one range of the table; kept by Append
-- next to sessions, row for row.
CREATE TABLE session_trails (
	shop_id  TEXT    NOT NULL,
	start_ts INTEGER NOT NULL,
	kind     TEXT    NOT NULL,
	key      TEXT    NOT NULL,
	end_ts   INTEGER NOT NULL,
	types    INTEGER NOT NULL,
	trail    BLOB    NOT NULL,
	PRIMARY KEY (shop_id, start_ts, kind, key)
) STRICT, WITHOUT ROWID;

-- trails_pending: shops whose sessions were rolled up before trails were
-- kept; funnels read their events until a Rebuild fills their trails.
CREATE TABLE trails_pending (
	shop_id TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

INSERT INTO trails_pending (shop_id) SELECT DISTINCT shop_id FROM sessions;
