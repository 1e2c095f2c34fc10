-- The ledger, portable across DuckDB and PostgreSQL. Identifiers live only in `subjects`;
-- every other table joins on the pseudonymous subject_key.
CREATE TABLE meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

-- No primary key here: the embedded engine would keep an in-memory index of every key.
-- Merges are serialised and insert only absent keys; PostgreSQL adds the key (002).
CREATE TABLE subjects (
    subject_key VARCHAR NOT NULL,
    identifier VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    birth_date DATE,
    sex VARCHAR,
    region_code VARCHAR,
    first_seen TIMESTAMP NOT NULL
);

CREATE TABLE sources (
    source_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    categories VARCHAR NOT NULL,
    credential_hash VARCHAR NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE submissions (
    submission_id VARCHAR PRIMARY KEY,
    source_id VARCHAR NOT NULL,
    file_name VARCHAR,
    file_sha256 VARCHAR,
    format VARCHAR,
    received_at TIMESTAMP NOT NULL,
    records_read BIGINT NOT NULL,
    accepted BIGINT NOT NULL,
    duplicates BIGINT NOT NULL,
    rejected BIGINT NOT NULL,
    first_event BIGINT,
    last_event BIGINT,
    digest VARCHAR NOT NULL
);

-- Append-only: a correction or revocation is a new row whose `supersedes` names the
-- source_record_id it replaces. Nothing here is ever updated or deleted.
CREATE TABLE records (
    event_id BIGINT NOT NULL,
    submission_id VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    source_record_id VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    occurred_on DATE NOT NULL,
    amount DECIMAL(18, 2),
    document VARCHAR,
    legal_basis VARCHAR,
    details VARCHAR NOT NULL,
    supersedes VARCHAR,
    action VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    received_at TIMESTAMP NOT NULL,
    line BIGINT
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    logged_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    object VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    prev_hash VARCHAR NOT NULL,
    hash VARCHAR NOT NULL
);

-- The current view: the latest version of every record that was not revoked.
CREATE VIEW current_records AS
SELECT r.*
FROM records r
WHERE r.action <> 'revoke'
  AND NOT EXISTS (
      SELECT 1 FROM records s
      WHERE s.source_id = r.source_id
        AND s.event_id > r.event_id
        AND (s.supersedes = r.source_record_id OR s.source_record_id = r.source_record_id)
  );
