CREATE INDEX score_features_subject ON score_features (run_id, subject_key);
