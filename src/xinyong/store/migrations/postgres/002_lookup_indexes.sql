-- PostgreSQL answers point look-ups from indexes; the embedded engine scans columns instead.
CREATE INDEX records_by_source_record ON records (source_id, source_record_id);
CREATE INDEX records_by_supersedes ON records (source_id, supersedes);
CREATE INDEX records_by_subject ON records (subject_key, event_id);
CREATE UNIQUE INDEX records_by_event ON records (event_id);
ALTER TABLE subjects ADD PRIMARY KEY (subject_key);
