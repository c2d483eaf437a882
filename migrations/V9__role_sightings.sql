-- Quiet runs (issue 14). A run that sees a role unchanged writes only when
-- it saw it; in a row of several kilobytes (the role's JSON, its detail and
-- verdict) that rewrote every page of the table, twice a day. The sighting
-- now lives in a narrow table of its own, and `roles` is a view with every
-- column it had, in the same order: readers see no difference.
--
--   role_rows   the role's row, as `roles` was, without last_seen_at
--   role_seen   role_id, last_seen_at (written for every role seen)
--   roles       VIEW: role_rows joined with role_seen (read-only)
--
-- Foreign keys that named roles(id) now name role_rows(id) (SQLite renames
-- them with the table); a new table must reference role_rows, not the view.
ALTER TABLE roles RENAME TO role_rows;
CREATE TABLE role_seen (
    role_id      TEXT PRIMARY KEY REFERENCES role_rows (id),
    last_seen_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO role_seen (role_id, last_seen_at) SELECT id, last_seen_at FROM role_rows;
ALTER TABLE role_rows DROP COLUMN last_seen_at;
CREATE VIEW roles AS
SELECT r.id,
       r.source,
       r.external_id,
       r.title,
       r.company,
       r.url,
       r.status,
       r.first_seen_at,
       s.last_seen_at,
       r.gone_at,
       r.tier,
       r.combined_score,
       r.engineer_score,
       r.headhunter_score,
       r.excitement_score,
       r.salary_min,
       r.salary_max,
       r.fee_percent,
       r.posted_at,
       r.content_hash,
       r.raw,
       r.last_changed_at,
       r.reasons,
       r.signals,
       r.score_breakdown,
       r.trend,
       r.evaluated_at,
       r.detail,
       r.detail_fetched_at,
       r.company_notes,
       r.selling_points,
       r.description,
       r.equity,
       r.requirements,
       r.intel_key,
       r.briefing_key,
       r.raw_hash,
       r.evaluation_key
FROM role_rows r JOIN role_seen s ON s.role_id = r.id;
