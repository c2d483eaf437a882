-- Qualification, scoring and detail enrichment (issue 3).

-- The verdict: why the tier, what was noticed, how each score was made.
ALTER TABLE roles ADD COLUMN reasons TEXT;            -- JSON array: failed filters (✗) and passed signals (✓)
ALTER TABLE roles ADD COLUMN signals TEXT;            -- JSON array: score signals and inferences, with their source
ALTER TABLE roles ADD COLUMN score_breakdown TEXT;    -- JSON object: engineer, headhunter, excitement components
ALTER TABLE roles ADD COLUMN trend TEXT CHECK (trend IN ('hired', 'surging', 'stalled'));
ALTER TABLE roles ADD COLUMN evaluated_at TEXT;       -- when the verdict last changed

-- The detail call (role.getRoleByIdSimple), made for new or changed candidates.
ALTER TABLE roles ADD COLUMN detail TEXT;             -- latest detail JSON
ALTER TABLE roles ADD COLUMN detail_fetched_at TEXT;
ALTER TABLE roles ADD COLUMN company_notes TEXT;      -- companyTip as clean text
ALTER TABLE roles ADD COLUMN selling_points TEXT;     -- clean text
ALTER TABLE roles ADD COLUMN description TEXT;        -- clean text
ALTER TABLE roles ADD COLUMN equity TEXT;
ALTER TABLE roles ADD COLUMN requirements TEXT;       -- JSON array of strings

CREATE INDEX roles_tier_score ON roles (tier, combined_score DESC);
