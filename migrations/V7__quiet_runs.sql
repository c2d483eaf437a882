-- Quiet runs that write almost nothing (issue 14).
-- sha256 of `raw` as stored: a run rewrites a role's row only when its JSON
-- (volatile fields included) changed; otherwise it only moves last_seen_at.
ALTER TABLE roles ADD COLUMN raw_hash TEXT;
-- What the stored verdict was computed from (content, detail, rules, model
-- answers): equal means there is nothing to evaluate.
ALTER TABLE roles ADD COLUMN evaluation_key TEXT;
