-- Rollup slots: the rows every batch of a shop adds to (its hours' counts
-- per type, its sessions' hours, the cells of its people chains, its
-- popular products' hours and days) are split over a slot column, the
-- slot of the Append that wrote them (see slots.go): concurrent appends
-- write different slots, so they neither wait for each other's row locks
-- until commit nor take turns committing. A row is the sum of its slots;
-- every read sums them, and Rebuild writes slot 0. Written so that it can
-- run again over tables a later step added the column to.
ALTER TABLE {{schema}}.hourly_rollups ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.hourly_rollups DROP CONSTRAINT hourly_rollups_pkey,
	ADD CONSTRAINT hourly_rollups_pkey PRIMARY KEY (shop_id, hour, type, currency, slot);

ALTER TABLE {{schema}}.session_hours ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.session_hours DROP CONSTRAINT session_hours_pkey,
	ADD CONSTRAINT session_hours_pkey PRIMARY KEY (shop_id, hour, slot);

ALTER TABLE {{schema}}.product_hours ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.product_hours DROP CONSTRAINT product_hours_pkey,
	ADD CONSTRAINT product_hours_pkey PRIMARY KEY (shop_id, product_id, currency, hour, slot);

ALTER TABLE {{schema}}.product_purchase_days ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.product_purchase_days DROP CONSTRAINT product_purchase_days_pkey,
	ADD CONSTRAINT product_purchase_days_pkey PRIMARY KEY (shop_id, day, product_id, slot);

ALTER TABLE {{schema}}.person_cells ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE {{schema}}.person_cells DROP CONSTRAINT person_cells_pkey,
	ADD CONSTRAINT person_cells_pkey PRIMARY KEY (shop_id, kind, prev_day, hour, slot);
