-- Checkpoints: small values long jobs (the Shopify historical sync) save
-- as they go, to resume after a crash; one per shop and name, replaced on
-- each save.
CREATE TABLE {{schema}}.checkpoints (
	shop_id    text        COLLATE "C" NOT NULL,
	name       text        COLLATE "C" NOT NULL,
	value      bytea       NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (shop_id, name)
);
