-- The daily digest (issue 5): which period a digest covers, and its Message-ID.
ALTER TABLE digests ADD COLUMN period TEXT;          -- the day it covers, e.g. 2025-12-19 (schedule timezone)
ALTER TABLE digests ADD COLUMN message_id TEXT;
ALTER TABLE digests ADD COLUMN since TEXT;           -- the window it covers starts here
ALTER TABLE digests ADD COLUMN last_change_id INTEGER; -- the newest change it covers; the next digest starts after it
CREATE INDEX digests_period ON digests (period, status);
