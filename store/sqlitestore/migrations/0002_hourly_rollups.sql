-- Hourly rollups: per shop, UTC hour (microseconds since the epoch of its
-- start), type and order currency ('' for types other than
-- purchase_completed), the number of events and of orders and the sum,
-- smallest and largest of the order totals, in exact minor units. Append
-- keeps them in its transaction, for the events it inserts; analytics reads
-- them instead of the events. A shop listed in rollup_stale had events
-- appended with rollups turned off: its rollups are not read until a
-- Rebuild.
CREATE TABLE hourly_rollups (
	shop_id       TEXT    NOT NULL,
	hour          INTEGER NOT NULL,
	type          TEXT    NOT NULL,
	currency      TEXT    NOT NULL,
	events        INTEGER NOT NULL,
	orders        INTEGER NOT NULL,
	revenue_minor INTEGER NOT NULL,
	revenue_min   INTEGER NOT NULL,
	revenue_max   INTEGER NOT NULL,
	PRIMARY KEY (shop_id, hour, type, currency)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_stale (
	shop_id TEXT NOT NULL PRIMARY KEY
) STRICT, WITHOUT ROWID;

-- The events stored before this step, rolled up as Append would have.
INSERT INTO hourly_rollups (shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max)
SELECT shop_id, hour, type, currency, COUNT(*), SUM(is_order), SUM(amount),
	IFNULL(MIN(CASE WHEN is_order THEN amount END), 0), IFNULL(MAX(CASE WHEN is_order THEN amount END), 0)
FROM (
	SELECT shop_id, ts - ((ts % 3600000000) + 3600000000) % 3600000000 AS hour, type,
		CASE WHEN type = 'purchase_completed' THEN IFNULL(currency, 'USD') ELSE '' END AS currency,
		type = 'purchase_completed' AS is_order,
		CASE WHEN type = 'purchase_completed' THEN IFNULL(revenue_minor, 0) ELSE 0 END AS amount
	FROM events
)
GROUP BY shop_id, hour, type, currency;
