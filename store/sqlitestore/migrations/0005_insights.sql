-- Insights raised by the rules of package insights, per shop. Times are
-- microseconds since the epoch, UTC; resolved_at is NULL while the insight
-- holds; subject is '' for an insight about the whole shop. At most one
-- insight of a rule and subject is open at a time (insights_open), which
-- makes raising atomic however many evaluators run.
CREATE TABLE insights (
	shop_id      TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	rule         TEXT    NOT NULL,
	subject      TEXT    NOT NULL,
	severity     TEXT    NOT NULL,
	title        TEXT    NOT NULL,
	message      TEXT    NOT NULL,
	evidence     TEXT    NOT NULL,
	window_start INTEGER NOT NULL,
	window_end   INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	resolved_at  INTEGER,
	PRIMARY KEY (shop_id, id)
) STRICT;

CREATE UNIQUE INDEX insights_open ON insights (shop_id, rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX insights_subject ON insights (shop_id, rule, subject, created_at);
CREATE INDEX insights_created ON insights (shop_id, created_at);
