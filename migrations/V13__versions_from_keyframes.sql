-- `role_versions` without recursion, so that other tools read it (issue 24).
--
-- DuckDB's sqlite extension could not read the V8 view: attaching the file
-- re-wrote its recursive CTE into SQL that SQLite rejects, and through
-- `sqlite_scan` its `raw` (an expression, with no declared type) came back
-- as a BLOB that JSON functions read as NULL.
--
-- From here on a patch row of `role_version_data` (`keyframe = 0`) is a
-- JSON merge patch (RFC 7386/7396) against its chain's keyframe (the role's
-- latest `keyframe = 1` row at or before it), no longer against the version
-- just before it; so any version is one `json_patch()` away from its
-- keyframe. SQL cannot compute merge patches: air-demand rewrites the older
-- chained patches itself when it opens the database, right after the
-- migrations, a batch of roles per transaction, deleting each role from
-- `role_version_rebase_pending` as it goes and the table when it is empty.
CREATE TABLE role_version_rebase_pending (
    role_id TEXT PRIMARY KEY
) WITHOUT ROWID;
INSERT INTO role_version_rebase_pending (role_id)
SELECT DISTINCT role_id FROM role_version_data WHERE keyframe = 0;

DROP VIEW role_versions;

-- The versions stored as patches, with their full JSON: the patch applied
-- to the chain's keyframe. Every column is named inside the SELECT (DuckDB
-- ignores a view's column list). A helper of `role_versions`: query that.
CREATE VIEW role_versions_patched AS
SELECT v.id AS id,
       v.role_id AS role_id,
       v.run_id AS run_id,
       v.observed_at AS observed_at,
       v.content_hash AS content_hash,
       json_patch(k.body, v.body) AS raw
FROM role_version_data v
LEFT JOIN role_version_data k
    ON k.id = (SELECT MAX(f.id) FROM role_version_data f
               WHERE f.role_id = v.role_id AND f.keyframe = 1 AND f.id <= v.id)
WHERE v.keyframe = 0;

-- The public contract (SPEC §4), as before: one row per version, `raw` its
-- full JSON. Keyframes first, then the patched versions: the first SELECT
-- reads table columns only, so SQLite declares every column's type
-- (`raw` TEXT, `id` INTEGER) and DuckDB's `sqlite_scan` reads `raw` as
-- text; DuckDB parses this view itself when the file is attached, and the
-- CASTs give the second half (which DuckDB hands to SQLite, as text) the
-- first half's types. `WHERE role_id = ...` reaches both halves' index.
CREATE VIEW role_versions AS
SELECT d.id AS id,
       d.role_id AS role_id,
       d.run_id AS run_id,
       d.observed_at AS observed_at,
       d.content_hash AS content_hash,
       d.body AS raw
FROM role_version_data d
WHERE d.keyframe = 1
UNION ALL
SELECT CAST(p.id AS BIGINT) AS id,
       p.role_id AS role_id,
       CAST(p.run_id AS BIGINT) AS run_id,
       p.observed_at AS observed_at,
       p.content_hash AS content_hash,
       p.raw AS raw
FROM role_versions_patched p;
