-- The decision service: partners and their grants, subjects' own credentials, and the
-- change feed of active measures (the transactional outbox that webhooks, long-polls and
-- the NATS publisher all read by cursor).
CREATE TABLE partners (
    partner_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    actions VARCHAR NOT NULL,
    purpose VARCHAR NOT NULL,
    webhook_url VARCHAR,
    credential_hash VARCHAR NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE subject_credentials (
    credential_hash VARCHAR PRIMARY KEY,
    subject_key VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One row each time a subject's measure starts, ends or changes its term. Written in the
-- same transaction as the evaluated state it describes, so a consumer that reads by
-- cursor misses nothing and sees nothing that was rolled back.
CREATE TABLE measure_changes (
    seq BIGINT PRIMARY KEY,
    subject_key VARCHAR NOT NULL,
    measure_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    valid_until DATE,
    cause VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
