-- Distinct people over any range of whole hours without reading every
-- person-hour of it (store.PeopleReader), and the top product by
-- purchases without every product-hour. Kept by Append in its transaction
-- next to person_hours, identify_links and product_hours, recomputed from
-- them by Rebuild, and filled from them here. Instants are microseconds
-- since the Unix epoch, UTC; a day is the instant it starts.
--
-- person_chain: the hours each chain of a shop is active, each row knowing
-- the chain's next active hour (NULL for its last). Three kinds of chain:
-- 'u' a user: the hours of the user's own rows and of the raw rows of
-- every anonymous id identified as them (n counts those rows); 'r' an
-- anonymous id never identified: the hours of its rows; 'l' the same id:
-- the hours of its linked rows (n is 1). The distinct chains active in a
-- range are the rows of the range whose previous hour is before it.
CREATE TABLE person_chain (
	shop_id TEXT    NOT NULL,
	kind    TEXT    NOT NULL,
	key     TEXT    NOT NULL,
	hour    INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	next    INTEGER,
	PRIMARY KEY (shop_id, kind, key, hour)
) STRICT, WITHOUT ROWID;

-- For the rows of the start of a range's first day, before the range,
-- whose next hour falls in it. Partial: a chain's last row is never one,
-- and a query planner without statistics is not tempted to read a
-- chain's rows through it instead of the primary key.
CREATE INDEX person_chain_hour ON person_chain (shop_id, kind, hour, next) WHERE next IS NOT NULL;

-- person_cells: the person_chain rows counted per kind, hour and the day
-- of the chain's previous active hour (-9223372036854775808 for none).
CREATE TABLE person_cells (
	shop_id  TEXT    NOT NULL,
	kind     TEXT    NOT NULL,
	prev_day INTEGER NOT NULL,
	hour     INTEGER NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (shop_id, kind, prev_day, hour)
) STRICT, WITHOUT ROWID;

-- premature_links: the linked person_hours of identified anonymous ids in
-- an hour ending at or before their identify: a range ending before the
-- identify counts such an id as nobody new (see store.PeopleReader), not
-- as its user.
CREATE TABLE premature_links (
	shop_id      TEXT    NOT NULL,
	hour         INTEGER NOT NULL,
	anonymous_id TEXT    NOT NULL,
	PRIMARY KEY (shop_id, hour, anonymous_id)
) STRICT, WITHOUT ROWID;

-- product_purchase_days: product_hours' purchases summed per product and
-- UTC day, over currencies.
CREATE TABLE product_purchase_days (
	shop_id    TEXT    NOT NULL,
	day        INTEGER NOT NULL,
	product_id TEXT    NOT NULL,
	purchases  INTEGER NOT NULL,
	PRIMARY KEY (shop_id, day, product_id)
) STRICT, WITHOUT ROWID;

-- The purchases of the partial days at a range's bounds.
CREATE INDEX product_hours_purchases ON product_hours (shop_id, hour, product_id, purchases) WHERE purchases > 0;

INSERT INTO person_chain (shop_id, kind, key, hour, n, next)
SELECT shop_id, kind, key, hour, n, lead(hour) OVER (PARTITION BY shop_id, kind, key ORDER BY hour)
FROM (
	SELECT shop_id, 'u' AS kind, key, hour, count(*) AS n FROM (
		SELECT shop_id, id AS key, hour FROM person_hours WHERE is_user = 1
		UNION ALL
		SELECT p.shop_id, l.user_id, p.hour FROM person_hours AS p
			JOIN identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
			WHERE p.is_user = 0 AND p.raw = 1
	) GROUP BY shop_id, key, hour
	UNION ALL
	SELECT p.shop_id, 'r', p.id, p.hour, 1 FROM person_hours AS p
		WHERE p.is_user = 0 AND NOT EXISTS (SELECT 1 FROM identify_links AS l
			WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
	UNION ALL
	SELECT p.shop_id, 'l', p.id, p.hour, 1 FROM person_hours AS p
		WHERE p.is_user = 0 AND p.linked = 1 AND NOT EXISTS (SELECT 1 FROM identify_links AS l
			WHERE l.shop_id = p.shop_id AND l.anonymous_id = p.id)
);

INSERT INTO person_cells (shop_id, kind, prev_day, hour, n)
SELECT shop_id, kind, coalesce(prev - ((prev % 86400000000) + 86400000000) % 86400000000, -9223372036854775808), hour, count(*)
FROM (SELECT shop_id, kind, hour, lag(hour) OVER (PARTITION BY shop_id, kind, key ORDER BY hour) AS prev FROM person_chain)
GROUP BY 1, 2, 3, 4;

INSERT INTO premature_links (shop_id, hour, anonymous_id)
SELECT p.shop_id, p.hour, p.id FROM person_hours AS p
	JOIN identify_links AS l ON l.shop_id = p.shop_id AND l.anonymous_id = p.id
	WHERE p.is_user = 0 AND p.linked = 1 AND l.ts >= p.hour + 3600000000;

INSERT INTO product_purchase_days (shop_id, day, product_id, purchases)
SELECT shop_id, hour - ((hour % 86400000000) + 86400000000) % 86400000000, product_id, sum(purchases)
FROM product_hours WHERE purchases > 0 GROUP BY 1, 2, 3;
