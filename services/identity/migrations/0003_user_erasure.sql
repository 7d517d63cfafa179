-- Right to be forgotten (docs/privacy.md): an erased account keeps its row, so every
-- reference to the user id (tickets, messages, the event logs) stays valid, but loses
-- its phone, username, name and password. It can no longer log in, so the rule that
-- an account has a phone or a username does not apply to it.
ALTER TABLE identity.users ADD COLUMN erased_at timestamptz;
ALTER TABLE identity.users DROP CONSTRAINT users_can_log_in;
ALTER TABLE identity.users ADD CONSTRAINT users_can_log_in
    CHECK (phone IS NOT NULL OR username IS NOT NULL OR erased_at IS NOT NULL);
