-- How each run reached Paraform (issue 21): 'direct' (the HTTP client),
-- 'browser' (fetch() in headless Chromium, as `[paraform] fetch = "browser"`
-- asks), or 'browser-after-challenge' (`auto`: an answer was a browser
-- challenge, and the rest of the run went through Chromium). NULL: the run
-- did not reach Paraform (disabled, no session) or ran before this column.
ALTER TABLE runs ADD COLUMN paraform_fetch TEXT
    CHECK (paraform_fetch IN ('direct', 'browser', 'browser-after-challenge'));
