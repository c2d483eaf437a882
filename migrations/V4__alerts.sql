-- Alerts to the operator (issue 6): one row per incident, from opening to recovery.
CREATE TABLE alerts (
    id               INTEGER PRIMARY KEY,
    incident         TEXT NOT NULL,          -- scrapes-failing | session-expired | session-expiring | digest-failed
    message          TEXT NOT NULL,
    opened_at        TEXT NOT NULL,
    alerted_at       TEXT,                   -- when the alert email went out (NULL: not yet)
    resolved_at      TEXT,
    recovery_sent_at TEXT
);
CREATE INDEX alerts_open ON alerts (incident, resolved_at);
