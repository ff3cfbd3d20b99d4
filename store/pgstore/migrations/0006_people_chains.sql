-- Distinct people over any range of whole hours without reading every
-- person-hour of it (store.PeopleReader), and the top product by
-- purchases without every product-hour: the tables of store/peoplechain.go,
-- kept by Append in its transaction next to person_hours, identify_links
-- and product_hours, recomputed from them by Rebuild, and filled from them
-- here. Hours and days are microseconds since the Unix epoch, UTC, as
-- bigint: the chains' bookkeeping is shared with sqlitestore.
--
-- person_chain: the hours each chain is active ('u' a user, through its
-- rows and the raw rows of the anonymous ids identified as it, n counting
-- them; 'r' an anonymous id never identified; 'l' its linked rows), each
-- row knowing the chain's next hour (NULL for its last).
CREATE TABLE {{schema}}.person_chain (
	shop_id text   COLLATE "C" NOT NULL,
	kind    text   COLLATE "C" NOT NULL,
	key     text   COLLATE "C" NOT NULL,
	hour    bigint NOT NULL,
	n       bigint NOT NULL,
	next    bigint,
	PRIMARY KEY (shop_id, kind, key, hour)
);

-- For the rows of the start of a range's first day, before the range,
-- whose next hour falls in it. Partial: a chain's last row is never one,
-- and the planner, without statistics on a table that has just grown, is
-- not tempted to read a chain's rows through it instead of the primary
-- key (a scan of every row of the kind per chain).
CREATE INDEX person_chain_hour_idx ON {{schema}}.person_chain (shop_id, kind, hour, next) WHERE next IS NOT NULL;

-- person_cells: person_chain rows counted per kind, hour and the day of the
-- chain's previous hour (-9223372036854775808 for none).
CREATE TABLE {{schema}}.person_cells (
	shop_id  text   COLLATE "C" NOT NULL,
	kind     text   COLLATE "C" NOT NULL,
	prev_day bigint NOT NULL,
	hour     bigint NOT NULL,
	n        bigint NOT NULL,
	PRIMARY KEY (shop_id, kind, prev_day, hour)
);

-- premature_links: linked person_hours of identified anonymous ids in an
-- hour ending at or before their identify.
CREATE TABLE {{schema}}.premature_links (
	shop_id      text   COLLATE "C" NOT NULL,
	hour         bigint NOT NULL,
	anonymous_id text   COLLATE "C" NOT NULL,
	PRIMARY KEY (shop_id, hour, anonymous_id)
);

-- product_purchase_days: product_hours' purchases summed per product and
-- UTC day, over currencies.
CREATE TABLE {{schema}}.product_purchase_days (
	shop_id    text   COLLATE "C" NOT NULL,
	day        bigint NOT NULL,
	product_id text   COLLATE "C" NOT NULL,
	purchases  bigint NOT NULL,
	PRIMARY KEY (shop_id, day, product_id)
);

-- The purchases of the partial days at a range's bounds.
CREATE INDEX product_hours_purchases_idx ON {{schema}}.product_hours (shop_id, hour, product_id, purchases) WHERE purchases > 0;

INSERT INTO {{schema}}.person_chain (shop_id, kind, key, hour, n, next)
SELECT shop_id, kind, key, hour, n, lead(hour) OVER (PARTITION BY shop_id, kind, key ORDER BY hour)
FROM (
	SELECT shop_id, 'u' AS kind, key, hour, count(*) AS n FROM (
		SELECT shop_id, id AS key, (extract(epoch FROM hour) * 1000000)::bigint AS hour
			FROM {{schema}}.person_hours WHERE is_user
		UNION ALL
		SELECT p.shop_id, l.user_id, (extract(epoch FROM p.hour) * 1000000)::bigint FROM {{schema}}.person_hours AS p
			JOIN {{schema}}.identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
			WHERE NOT p.is_user AND p.raw
	) AS x GROUP BY shop_id, key, hour
	UNION ALL
	SELECT p.shop_id, 'r', p.id, (extract(epoch FROM p.hour) * 1000000)::bigint, 1 FROM {{schema}}.person_hours AS p
		WHERE NOT p.is_user AND NOT EXISTS (SELECT 1 FROM {{schema}}.identify_links AS l
			WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
	UNION ALL
	SELECT p.shop_id, 'l', p.id, (extract(epoch FROM p.hour) * 1000000)::bigint, 1 FROM {{schema}}.person_hours AS p
		WHERE NOT p.is_user AND p.linked AND NOT EXISTS (SELECT 1 FROM {{schema}}.identify_links AS l
			WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
) AS c;

INSERT INTO {{schema}}.person_cells (shop_id, kind, prev_day, hour, n)
SELECT shop_id, kind, coalesce(prev - ((prev % 86400000000) + 86400000000) % 86400000000, -9223372036854775808), hour, count(*)
FROM (SELECT shop_id, kind, hour, lag(hour) OVER (PARTITION BY shop_id, kind, key ORDER BY hour) AS prev
	FROM {{schema}}.person_chain) AS c
GROUP BY 1, 2, 3, 4;

INSERT INTO {{schema}}.premature_links (shop_id, hour, anonymous_id)
SELECT p.shop_id, (extract(epoch FROM p.hour) * 1000000)::bigint, p.id FROM {{schema}}.person_hours AS p
	JOIN {{schema}}.identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
	WHERE NOT p.is_user AND p.linked AND l.ts >= p.hour + interval '1 hour';

INSERT INTO {{schema}}.product_purchase_days (shop_id, day, product_id, purchases)
SELECT shop_id, d, product_id, sum(purchases)
FROM (SELECT shop_id, product_id, purchases, (extract(epoch FROM hour) * 1000000)::bigint AS h
	FROM {{schema}}.product_hours WHERE purchases > 0) AS p,
	LATERAL (SELECT h - ((h % 86400000000) + 86400000000) % 86400000000 AS d) AS x
GROUP BY 1, 2, 3;
