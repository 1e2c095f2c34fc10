-- Due process: objections to records, their evidence, notices to subjects and where they go.

-- An objection of a subject to one record, decided by the source that submitted it.
CREATE TABLE objections (
    objection_id VARCHAR PRIMARY KEY,
    subject_key VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    source_id VARCHAR NOT NULL,
    source_record_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    filed_at TIMESTAMP NOT NULL,
    filed_on DATE NOT NULL,
    due_on DATE NOT NULL,
    status VARCHAR NOT NULL,
    decided_at TIMESTAMP,
    decided_on DATE,
    decision_reason VARCHAR,
    decided_by VARCHAR
);

-- An application for credit repair of one record, decided by the source that submitted it.
CREATE TABLE repairs (
    repair_id VARCHAR PRIMARY KEY,
    subject_key VARCHAR NOT NULL,
    event_id BIGINT NOT NULL,
    source_id VARCHAR NOT NULL,
    source_record_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    commitment VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    applied_at TIMESTAMP NOT NULL,
    applied_on DATE NOT NULL,
    due_on DATE NOT NULL,
    status VARCHAR NOT NULL,
    decided_at TIMESTAMP,
    decided_on DATE,
    decision_reason VARCHAR,
    decided_by VARCHAR
);

-- Files a subject sent with an objection or a repair application (its case id): stored by
-- content hash, never published.
CREATE TABLE evidence (
    case_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL
);

-- Where a subject's notices go: held with the subject's key, used for notices only.
CREATE TABLE subject_contacts (
    subject_key VARCHAR PRIMARY KEY,
    email VARCHAR,
    phone VARCHAR,
    updated_at TIMESTAMP NOT NULL
);

-- Notices to a subject (and to the subject alone), in Chinese and English.
CREATE TABLE notices (
    notice_id BIGINT PRIMARY KEY,
    subject_key VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    dedupe_key VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_on DATE NOT NULL,
    body VARCHAR NOT NULL
);

-- Each notice's delivery on each channel, with its attempts.
CREATE TABLE notice_deliveries (
    notice_id BIGINT NOT NULL,
    channel VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    next_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP
);

-- Feed events say when a measure's record is disputed, and by which objection.
ALTER TABLE measure_changes ADD COLUMN objection_id VARCHAR;
ALTER TABLE measure_changes ADD COLUMN objection_due DATE;
