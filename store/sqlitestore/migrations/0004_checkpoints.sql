-- Checkpoints: small values long jobs (the Shopify historical sync) save
-- as they go, to resume after a crash; one per shop and name, replaced on
-- each save. updated_at is microseconds since the epoch, UTC.
CREATE TABLE checkpoints (
	shop_id    TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	value      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (shop_id, name)
) STRICT, WITHOUT ROWID;
