-- Crypto-shredding (docs/privacy.md): the personal fields of ticket events are stored
-- encrypted under a data key per customer (the "subject"); erasing the customer
-- destroys the key, so the append-only log never has to be rewritten.
--
-- A destroyed key keeps its row as a tombstone (data_key NULL, destroyed_at set): a
-- later event about an erased customer must not be sealed under a fresh key, it
-- stores the erased placeholder instead. UPDATE and DELETE both leave the old tuple
-- until VACUUM reclaims it; docs/privacy.md says what that means for backups.
CREATE TABLE tickets.personal_data_keys (
    key_id       uuid PRIMARY KEY,
    subject_id   text NOT NULL UNIQUE,
    data_key     bytea CHECK (data_key IS NULL OR length(data_key) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    CONSTRAINT personal_data_keys_destroyed CHECK ((data_key IS NULL) = (destroyed_at IS NOT NULL))
);

GRANT SELECT, INSERT, UPDATE ON tickets.personal_data_keys TO {app_role};
-- Erasure deletes the customer's attachment bytes (the metadata in the log is sealed).
GRANT DELETE ON tickets.attachment_blobs TO {app_role};
