-- What a role's model answers were last settled from (issue 25): a run
-- with [llm] on skips, as unchanged, every role whose listing text, detail,
-- rules and model settings are those of `model_key`, until `model_until`
-- (when the company excitement it used grows stale). NULL: not settled
-- (never asked, or a call failed or was over budget): asked next run.
-- Bookkeeping of the scraper, not part of the `roles` view.
ALTER TABLE role_rows ADD COLUMN model_key TEXT;
ALTER TABLE role_rows ADD COLUMN model_until TEXT;
