-- Model-assisted intel (issue 13): answers cached by input, usage per run.

-- Every model answer, keyed by sha256(task, model, prompt version, input
-- text); company excitement by (task, model, prompt version, normalised
-- company name). The same input never costs twice. `answer` is the bounded
-- JSON the program read; NULL with `error` when the model's answer could not
-- be used twice in a row (kept, so the same input is not paid for again).
CREATE TABLE llm_cache (
    key               TEXT PRIMARY KEY,
    task              TEXT NOT NULL CHECK (task IN ('role_intel', 'company_excitement', 'briefing')),
    model             TEXT NOT NULL,
    prompt_version    TEXT NOT NULL,
    subject           TEXT,                    -- role id, or the normalised company name
    answer            TEXT,                    -- JSON
    error             TEXT,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd          REAL NOT NULL DEFAULT 0, -- as the provider reported it (OpenRouter's usage.cost)
    created_at        TEXT NOT NULL
);
CREATE INDEX llm_cache_subject ON llm_cache (task, subject);

-- Which answers a role's verdict and briefing were made from.
ALTER TABLE roles ADD COLUMN intel_key TEXT;       -- llm_cache.key of its role intel
ALTER TABLE roles ADD COLUMN briefing_key TEXT;    -- llm_cache.key of its briefing

-- What each run asked of the model.
ALTER TABLE runs ADD COLUMN llm_calls INTEGER NOT NULL DEFAULT 0;        -- requests sent, re-asks included
ALTER TABLE runs ADD COLUMN llm_tokens INTEGER NOT NULL DEFAULT 0;       -- prompt + completion
ALTER TABLE runs ADD COLUMN llm_cost_usd REAL NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN llm_error TEXT;        -- why model calls stopped (bad key, no credits); NULL when they did not
