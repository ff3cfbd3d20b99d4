-- Insights raised by the rules of package insights, per shop; resolved_at
-- is NULL while the insight holds, subject '' for an insight about the
-- whole shop, evidence the JSON text as the rule wrote it. At most one
-- insight of a rule and subject is open at a time (insights_open): of
-- evaluators raising the same finding at once, in any number of
-- processes, one inserts it and the others meet the index (ON CONFLICT DO
-- NOTHING).
CREATE TABLE {{schema}}.insights (
	shop_id      text        COLLATE "C" NOT NULL,
	id           text        COLLATE "C" NOT NULL,
	rule         text        COLLATE "C" NOT NULL,
	subject      text        COLLATE "C" NOT NULL,
	severity     text        NOT NULL,
	title        text        NOT NULL,
	message      text        NOT NULL,
	evidence     text        NOT NULL,
	window_start timestamptz NOT NULL,
	window_end   timestamptz NOT NULL,
	created_at   timestamptz NOT NULL,
	resolved_at  timestamptz,
	PRIMARY KEY (shop_id, id)
);

CREATE UNIQUE INDEX insights_open ON {{schema}}.insights (shop_id, rule, subject) WHERE resolved_at IS NULL;
CREATE INDEX insights_subject ON {{schema}}.insights (shop_id, rule, subject, created_at);
CREATE INDEX insights_created ON {{schema}}.insights (shop_id, created_at);
