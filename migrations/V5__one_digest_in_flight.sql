-- Exactly one digest in flight per period (issue 12): two `digest` runs, or
-- `run` and a manual `digest`, both sent. A second claim on a period now
-- fails in the database. Rows left `sending` by a stopped process become
-- `failed` first (the sender did the same at its start).
UPDATE digests SET status = 'failed', error = 'the process stopped while sending'
    WHERE status = 'sending';
CREATE UNIQUE INDEX digests_one_sending ON digests (period) WHERE status = 'sending';
