-- The public schema (SPEC §4). Timestamps are RFC 3339 UTC text.

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    status           TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed')),
    trigger          TEXT NOT NULL DEFAULT 'manual',
    roles_seen       INTEGER NOT NULL DEFAULT 0,
    roles_new        INTEGER NOT NULL DEFAULT 0,
    roles_changed    INTEGER NOT NULL DEFAULT 0,
    roles_gone       INTEGER NOT NULL DEFAULT 0,
    roles_reappeared INTEGER NOT NULL DEFAULT 0,
    roles_qualified  INTEGER NOT NULL DEFAULT 0,
    errors           TEXT NOT NULL DEFAULT '[]',   -- JSON array of strings
    duration_ms      INTEGER,
    requests         INTEGER NOT NULL DEFAULT 0    -- HTTP requests made to sources
);
CREATE INDEX runs_started_at ON runs (started_at);

CREATE TABLE roles (
    id               TEXT PRIMARY KEY,             -- '<source>:<external_id>'
    source           TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    title            TEXT,
    company          TEXT,
    url              TEXT,
    status           TEXT NOT NULL CHECK (status IN ('active', 'gone')),
    first_seen_at    TEXT NOT NULL,
    last_seen_at     TEXT NOT NULL,
    gone_at          TEXT,
    tier             TEXT CHECK (tier IN ('QUALIFIED', 'MAYBE', 'LOCATION_UNCERTAIN', 'SKIP')),
    combined_score   REAL,
    engineer_score   REAL,
    headhunter_score REAL,
    excitement_score REAL,
    salary_min       INTEGER,
    salary_max       INTEGER,
    fee_percent      REAL,
    posted_at        TEXT,
    content_hash     TEXT NOT NULL,
    raw              TEXT NOT NULL,                -- latest source JSON
    last_changed_at  TEXT NOT NULL,                -- when content_hash last changed
    UNIQUE (source, external_id)
);
CREATE INDEX roles_status_tier ON roles (status, tier);
CREATE INDEX roles_combined_score ON roles (combined_score DESC);
CREATE INDEX roles_posted_at ON roles (posted_at);

CREATE TABLE role_versions (
    id           INTEGER PRIMARY KEY,
    role_id      TEXT NOT NULL REFERENCES roles (id),
    run_id       INTEGER NOT NULL REFERENCES runs (id),
    observed_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    raw          TEXT NOT NULL
);
CREATE INDEX role_versions_role ON role_versions (role_id, id);

CREATE TABLE changes (
    id          INTEGER PRIMARY KEY,
    role_id     TEXT NOT NULL REFERENCES roles (id),
    run_id      INTEGER REFERENCES runs (id),          -- NULL for `requalify`
    detected_at TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('NEW', 'SALARY_INCREASE', 'SALARY_DECREASE',
                  'FEE_CHANGE', 'HEADCOUNT_CHANGE', 'COMPETITION_CHANGE', 'INTERVIEW_INCREASE',
                  'INTERVIEW_DECREASE', 'HIRING_INCREASE', 'HIRING_DECREASE', 'LOCATION_CHANGE',
                  'STATUS_CHANGE', 'TIER_CHANGE', 'DISAPPEARED', 'REAPPEARED')),
    field       TEXT,
    old_value   TEXT,
    new_value   TEXT
);
CREATE INDEX changes_detected_at ON changes (detected_at);
CREATE INDEX changes_role ON changes (role_id, id);
CREATE INDEX changes_kind ON changes (kind, detected_at);

CREATE TABLE digests (
    id         INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    status     TEXT NOT NULL,
    transport  TEXT NOT NULL,
    recipients TEXT NOT NULL DEFAULT '[]',         -- JSON array of addresses
    subject    TEXT NOT NULL,
    role_count INTEGER NOT NULL DEFAULT 0,
    error      TEXT
);
CREATE INDEX digests_created_at ON digests (created_at);
