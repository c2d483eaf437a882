-- What each careers page (SPEC §3b) answered when last read: its
-- validators, so the next request is conditional and an unchanged page
-- costs a 304; what it carried, so a 304 says which postings are still
-- there; and, for a site's robots.txt, its text. Written in the run's
-- transaction with the roles read from the page, so the two always agree.
CREATE TABLE careers_pages (
    url           TEXT PRIMARY KEY,                 -- absolute, as requested
    host          TEXT NOT NULL,                    -- lower case, as role ids name it
    etag          TEXT,                             -- the ETag header, as sent
    last_modified TEXT,                             -- the Last-Modified header, as sent
    checked_at    TEXT NOT NULL,                    -- when it last answered 200 or 304
    postings      TEXT NOT NULL DEFAULT '[]',       -- JSON [{"id", "valid_through"}]: its postings' external ids
    links         TEXT NOT NULL DEFAULT '[]',       -- JSON [url]: the job pages a listing links
    robots        TEXT                              -- a robots.txt's text ('' when it had none)
);
CREATE INDEX careers_pages_host ON careers_pages (host);
