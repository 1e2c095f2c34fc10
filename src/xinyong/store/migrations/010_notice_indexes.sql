-- Notices are looked up by their de-duplication key every time one is made or skipped.
CREATE INDEX notices_dedupe ON notices (dedupe_key);
