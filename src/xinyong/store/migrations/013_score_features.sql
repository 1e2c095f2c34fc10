-- A scorecard's features per subject and run: the figure read from the subject's own
-- records, the points of its bin, and the first day the figure can change. Only subjects
-- who consented to a score that needs consent have rows.
CREATE TABLE score_features (
    run_id BIGINT NOT NULL,
    score_id VARCHAR NOT NULL,
    feature_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    value DOUBLE PRECISION,
    points BIGINT NOT NULL,
    changes_on DATE
);
