-- Look-ups of one subject's evaluated state, and incremental replacement of it.
CREATE INDEX list_entries_subject ON list_entries (run_id, subject_key);
CREATE INDEX list_evidence_subject ON list_evidence (run_id, subject_key);
CREATE INDEX record_flags_subject ON record_flags (run_id, subject_key);
CREATE INDEX score_items_subject ON score_items (run_id, subject_key);
CREATE INDEX scores_subject ON scores (run_id, subject_key);
CREATE INDEX subject_links_org ON subject_links (run_id, org_key);
CREATE INDEX subject_links_person ON subject_links (run_id, person_key);
CREATE INDEX active_measures_subject ON active_measures (run_id, subject_key);
