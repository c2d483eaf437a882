-- Role history that grows with change, not with copies (issue 14).
--
-- Until V7 every version in `role_versions` was a full copy of the role's
-- JSON (~2.6 KB), although a typical change touches two fields. From V8 the
-- versions live in `role_version_data`: each row is either a keyframe (`body`
-- is the full JSON, `keyframe = 1`) or a JSON merge patch (RFC 7386/7396)
-- against the role's previous version (`keyframe = 0`). A role's first
-- version is a keyframe, and so is every 16th (the program's
-- KEYFRAME_INTERVAL), so rebuilding any version replays at most 15 patches;
-- so is any version a patch cannot express (a member set to null, which a
-- merge patch reads as "remove") or whose patch would be no smaller.
CREATE TABLE role_version_data (
    id           INTEGER PRIMARY KEY,
    role_id      TEXT NOT NULL REFERENCES roles (id),
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    observed_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    keyframe     INTEGER NOT NULL CHECK (keyframe IN (0, 1)),
    body         TEXT NOT NULL
);

-- Every old row is a full copy: it moves over as a keyframe, with its id.
INSERT INTO role_version_data (id, role_id, run_id, observed_at, content_hash, keyframe, body)
SELECT id, role_id, run_id, observed_at, content_hash, 1, raw FROM role_versions ORDER BY id;

DROP TABLE role_versions;
CREATE INDEX role_version_data_role ON role_version_data (role_id, id);

-- The public contract (SPEC §4) keeps its meaning: `role_versions` has the
-- old columns, and `raw` is the full JSON of that version. A keyframe's raw
-- is its body; a patch's is rebuilt by a recursive CTE that starts at the
-- role's latest keyframe at or before the version and folds SQLite's
-- json_patch() (RFC 7396) over each following version of the role, up to
-- this one. The view is a plain SELECT over role_version_data with raw as a
-- correlated subquery, so `count(*)` and `WHERE role_id = ...` use the table
-- and its index, and raw is only rebuilt for the rows a query returns.
-- (air-demand itself reads role_version_data and replays patches in Rust.)
CREATE VIEW role_versions (id, role_id, run_id, observed_at, content_hash, raw) AS
SELECT v.id, v.role_id, v.run_id, v.observed_at, v.content_hash,
    CASE WHEN v.keyframe = 1 THEN v.body ELSE (
        WITH RECURSIVE chain (id, raw) AS (
            SELECT k.id, k.body FROM role_version_data k
            WHERE k.id = (SELECT MAX(f.id) FROM role_version_data f
                          WHERE f.role_id = v.role_id AND f.keyframe = 1 AND f.id <= v.id)
            UNION ALL
            SELECT d.id, json_patch(chain.raw, d.body)
            FROM chain JOIN role_version_data d
                ON d.id = (SELECT MIN(n.id) FROM role_version_data n
                           WHERE n.role_id = v.role_id AND n.id > chain.id)
            WHERE d.id <= v.id
        )
        SELECT chain.raw FROM chain WHERE chain.id = v.id
    ) END
FROM role_version_data v;

-- SQL cannot compute merge patches: while this table exists, the history
-- moved over above is still all keyframes, and air-demand (on opening the
-- database, right after the migrations) rewrites it as patches with a
-- keyframe every 16 versions, in one transaction that also drops this table.
CREATE TABLE role_version_compaction_pending (since_schema INTEGER NOT NULL);
INSERT INTO role_version_compaction_pending (since_schema) VALUES (8);
