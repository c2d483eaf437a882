-- Quiet runs that write almost nothing (issue 14).
-- sha256 of `raw` as stored: a run rewrites a role's row only when its JSON
-- (volatile fields included) changed; otherwise it only moves last_seen_at.
ALTER TABLE roles ADD COLUMN raw_hash TEXT;
-- What the stored verdict was computed from (content, detail, rules, model
-- answers): equal means there is nothing to evaluate.
ALTER TABLE roles ADD COLUMN evaluation_key TEXT;
-- Everything a scrape reads of every role to tell what changed, as a
-- covering index: the summary of 100,000 roles is read from the index's few
-- megabytes instead of the table's JSON.
CREATE INDEX roles_summary ON roles (source, id, status, content_hash, raw_hash,
    detail_fetched_at, tier, trend, evaluation_key);
