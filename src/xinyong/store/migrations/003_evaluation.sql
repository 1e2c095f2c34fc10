-- The evaluated credit state. Every row belongs to one evaluation run, which names the
-- policy version that made it and the date it was evaluated as of. The current run is the
-- one decisions read; incremental evaluation replaces its rows subject by subject.
CREATE TABLE eval_runs (
    run_id BIGINT PRIMARY KEY,
    policy_name VARCHAR NOT NULL,
    policy_version VARCHAR NOT NULL,
    policy_digest VARCHAR NOT NULL,
    engine VARCHAR NOT NULL,
    as_of DATE NOT NULL,
    is_current BOOLEAN NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    subjects BIGINT
);

CREATE TABLE list_entries (
    run_id BIGINT NOT NULL,
    list_id VARCHAR NOT NULL,
    entry_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    entered_on DATE,
    ends_on DATE,
    end_reason VARCHAR,
    exit_event_id BIGINT,
    status VARCHAR NOT NULL,
    refused_by VARCHAR
);

CREATE TABLE list_evidence (
    run_id BIGINT NOT NULL,
    entry_id VARCHAR NOT NULL,
    list_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    role VARCHAR NOT NULL
);

CREATE TABLE record_flags (
    run_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    subject_key VARCHAR NOT NULL,
    list_id VARCHAR NOT NULL,
    never_id VARCHAR NOT NULL
);

CREATE TABLE score_items (
    run_id BIGINT NOT NULL,
    score_id VARCHAR NOT NULL,
    rule_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    points BIGINT NOT NULL,
    counts_until DATE
);

CREATE TABLE scores (
    run_id BIGINT NOT NULL,
    score_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    points BIGINT NOT NULL,
    grade VARCHAR,
    valid_until DATE
);

CREATE TABLE subject_links (
    run_id BIGINT NOT NULL,
    org_key VARCHAR NOT NULL,
    person_key VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    event_id BIGINT NOT NULL
);

CREATE TABLE active_measures (
    run_id BIGINT NOT NULL,
    measure_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    trigger_kind VARCHAR NOT NULL,
    trigger_id VARCHAR NOT NULL,
    trigger_ref VARCHAR,
    via_subject_key VARCHAR,
    role VARCHAR NOT NULL,
    valid_until DATE
);
