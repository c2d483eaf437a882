-- A change kind for board roles whose company or board is no longer
-- followed (issue 22, SPEC §4 `UNFOLLOWED`): closed without being called
-- gone. SQLite cannot alter a CHECK, so `changes` is rebuilt with the new
-- list: same columns in the same order, every row with its id, the same
-- indexes. Nothing references `changes` and no trigger or view reads it.
-- Its role_id now names role_rows(id), as every new table does since V9
-- (`roles` is a view). Refinery runs this file in one transaction.
CREATE TABLE changes_v12 (
    id          INTEGER PRIMARY KEY,
    role_id     TEXT NOT NULL REFERENCES role_rows (id),
    run_id      INTEGER REFERENCES runs (id),          -- NULL for `requalify`
    detected_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('NEW', 'SALARY_INCREASE', 'SALARY_DECREASE',
                  'FEE_CHANGE', 'HEADCOUNT_CHANGE', 'COMPETITION_CHANGE', 'INTERVIEW_INCREASE',
                  'INTERVIEW_DECREASE', 'HIRING_INCREASE', 'HIRING_DECREASE', 'LOCATION_CHANGE',
                  'STATUS_CHANGE', 'TIER_CHANGE', 'DISAPPEARED', 'REAPPEARED', 'UNFOLLOWED')),
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT
);
INSERT INTO changes_v12 (id, role_id, run_id, detected_at, kind, field, old_value, new_value)
SELECT id, role_id, run_id, detected_at, kind, field, old_value, new_value FROM changes ORDER BY id;
DROP TABLE changes;
ALTER TABLE changes_v12 RENAME TO changes;
CREATE INDEX changes_detected_at ON changes (detected_at);
CREATE INDEX changes_role ON changes (role_id, id);
CREATE INDEX changes_kind ON changes (kind, detected_at);
