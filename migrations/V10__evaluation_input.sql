-- Churn runs that evaluate only what moved (issue 14). Paraform refreshes
-- volatile fields (last active, timers) of every role between runs; the
-- evaluation key hashed the whole JSON text, so every such run evaluated
-- every role again. The key now hashes the role's evaluation input: its
-- content plus the few volatile fields evaluation reads. Stored here, so a
-- role listed exactly as stored is judged without reading its JSON.
-- NULL (rows from before): the role is evaluated once more, then filled in.
ALTER TABLE role_rows ADD COLUMN evaluation_input TEXT;
DROP INDEX roles_summary;
CREATE INDEX roles_summary ON role_rows (source, id, status, content_hash, raw_hash,
    detail_fetched_at, tier, trend, evaluation_key, evaluation_input);
