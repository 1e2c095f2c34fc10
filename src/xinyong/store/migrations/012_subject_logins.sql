-- A subject's own sign-in to the portal: a password of its choosing (Argon2id hash), and
-- the count of wrong attempts that locks the sign-in for a while.
CREATE TABLE subject_logins (
    subject_key VARCHAR PRIMARY KEY,
    password_hash VARCHAR,
    failures BIGINT NOT NULL,
    locked_until TIMESTAMP,
    changed_at TIMESTAMP NOT NULL
);
