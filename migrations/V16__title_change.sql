-- A change kind for a board or careers role renamed (SPEC §4 `TITLE_CHANGE`,
-- field `title`). Until now a renamed board role was recorded as a
-- STATUS_CHANGE of field `title`, the nearest kind the list had; those rows
-- move to the new kind here. SQLite cannot alter a CHECK, so `changes` is
-- rebuilt with the new list, as V12 did: same columns in the same order,
-- every row with its id, the same indexes. Nothing references `changes`
-- and no trigger or view reads it. Refinery runs this file in one
-- transaction.
CREATE TABLE changes_v16 (
    id          INTEGER PRIMARY KEY,
    role_id     TEXT NOT NULL REFERENCES role_rows (id),
    run_id      INTEGER REFERENCES runs (id),          -- NULL for `requalify`
    detected_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('NEW', 'SALARY_INCREASE', 'SALARY_DECREASE',
                  'FEE_CHANGE', 'HEADCOUNT_CHANGE', 'COMPETITION_CHANGE', 'INTERVIEW_INCREASE',
                  'INTERVIEW_DECREASE', 'HIRING_INCREASE', 'HIRING_DECREASE', 'LOCATION_CHANGE',
                  'STATUS_CHANGE', 'TIER_CHANGE', 'DISAPPEARED', 'REAPPEARED', 'TITLE_CHANGE',
                  'UNFOLLOWED')),
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT
);
INSERT INTO changes_v16 (id, role_id, run_id, detected_at, kind, field, old_value, new_value)
SELECT id, role_id, run_id, detected_at,
       CASE WHEN kind = 'STATUS_CHANGE' AND field = 'title' AND role_id NOT LIKE 'paraform:%'
            THEN 'TITLE_CHANGE' ELSE kind END,
       field, old_value, new_value
FROM changes ORDER BY id;
DROP TABLE changes;
ALTER TABLE changes_v16 RENAME TO changes;
CREATE INDEX changes_detected_at ON changes (detected_at);
CREATE INDEX changes_role ON changes (role_id, id);
CREATE INDEX changes_kind ON changes (kind, detected_at);
