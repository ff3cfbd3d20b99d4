-- Hourly rollups: per shop, UTC hour (the instant it starts), type and order
-- currency ('' for types other than purchase_completed), the number of
-- events and of orders and the sum, smallest and largest of the order
-- totals, in exact minor units. Append keeps them in its transaction, for
-- the events it inserts; analytics reads them instead of the events. A shop
-- listed in rollup_stale had events appended with rollups turned off: its
-- rollups are not read until a Rebuild.
CREATE TABLE {{schema}}.hourly_rollups (
	shop_id       text        COLLATE "C" NOT NULL,
	hour          timestamptz NOT NULL,
	type          text        COLLATE "C" NOT NULL,
	currency      text        COLLATE "C" NOT NULL,
	events        bigint      NOT NULL,
	orders        bigint      NOT NULL,
	revenue_minor bigint      NOT NULL,
	revenue_min   bigint      NOT NULL,
	revenue_max   bigint      NOT NULL,
	PRIMARY KEY (shop_id, hour, type, currency)
);

CREATE TABLE {{schema}}.rollup_stale (
	shop_id text COLLATE "C" PRIMARY KEY
);

-- The events stored before this step, rolled up as Append would have.
INSERT INTO {{schema}}.hourly_rollups (shop_id, hour, type, currency, events, orders, revenue_minor, revenue_min, revenue_max)
SELECT shop_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', type,
	CASE WHEN type = 'purchase_completed' THEN coalesce(currency, 'USD') ELSE '' END,
	count(*), count(*) FILTER (WHERE type = 'purchase_completed'),
	coalesce(sum(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0),
	coalesce(min(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0),
	coalesce(max(coalesce(revenue, 0)) FILTER (WHERE type = 'purchase_completed'), 0)
FROM {{schema}}.events
GROUP BY 1, 2, 3, 4;
