-- The identity service's schema: its own append-only event log (same shape and rules
-- as tickets.events, so the shared relay can publish it), and the state tables that
-- are updated in the same transaction as each append.

-- -- the event log, command idempotency and relay positions (shared DDL) ---------------
-- pasokh:include event_log

-- -- accounts ---------------------------------------------------------------------------
CREATE TABLE identity.organisations (
    organisation_id uuid PRIMARY KEY,
    name            text NOT NULL,
    created_at      timestamptz NOT NULL
);

CREATE TABLE identity.users (
    user_id           uuid PRIMARY KEY,
    role              text NOT NULL CHECK (role IN ('customer', 'agent', 'supervisor', 'admin')),
    kind              text NOT NULL CHECK (kind IN ('person', 'company', 'staff')),
    name              text NOT NULL,
    -- E.164, Iranian mobiles only (pasokh_common.text.normalise_mobile).
    phone             text UNIQUE CHECK (phone ~ '^\+989[0-9]{9}$'),
    username          text UNIQUE CHECK (username ~ '^[a-z][a-z0-9_.-]{2,31}$'),
    password_hash     text NOT NULL,
    language          text NOT NULL DEFAULT 'fa' CHECK (language IN ('fa', 'en')),
    organisation_id   uuid REFERENCES identity.organisations,
    phone_verified_at timestamptz,
    -- Bumped when every session must end (password change or reset); access tokens
    -- carry it as "sv" and refresh tokens store it.
    session_version   integer NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT users_can_log_in CHECK (phone IS NOT NULL OR username IS NOT NULL),
    CONSTRAINT users_company_has_organisation
        CHECK ((kind = 'company') = (organisation_id IS NOT NULL)),
    CONSTRAINT users_staff_kind CHECK ((role = 'customer') = (kind <> 'staff'))
);
CREATE INDEX users_organisation ON identity.users (organisation_id) WHERE organisation_id IS NOT NULL;

CREATE TABLE identity.departments (
    department_id text PRIMARY KEY CHECK (department_id ~ '^[a-z][a-z0-9-]{1,62}$'),
    name          text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE identity.department_members (
    department_id text NOT NULL REFERENCES identity.departments,
    user_id       uuid NOT NULL REFERENCES identity.users,
    assigned_at   timestamptz NOT NULL,
    PRIMARY KEY (department_id, user_id)
);
CREATE INDEX department_members_user ON identity.department_members (user_id);

-- -- verification codes -----------------------------------------------------------------
-- Only the newest code of a user and purpose counts; older ones are ignored.
CREATE TABLE identity.verification_codes (
    code_id     uuid PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES identity.users ON DELETE CASCADE,
    purpose     text NOT NULL CHECK (purpose IN ('verify_phone', 'reset_password')),
    -- HMAC-SHA256(server key, code_id || ':' || code); never the code itself.
    code_digest bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    wrong_tries integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX verification_codes_newest ON identity.verification_codes (user_id, purpose, created_at DESC);

-- Every request for a code, whether or not the number has an account (so the limits
-- answer the same either way). Purged after a day.
CREATE TABLE identity.code_requests (
    request_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone          text NOT NULL,
    client_address text NOT NULL,
    purpose        text NOT NULL,
    requested_at   timestamptz NOT NULL
);
CREATE INDEX code_requests_phone ON identity.code_requests (phone, requested_at);
CREATE INDEX code_requests_address ON identity.code_requests (client_address, requested_at);

-- -- sessions ---------------------------------------------------------------------------
CREATE TABLE identity.login_attempts (
    attempt_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_key    text NOT NULL,
    client_address text NOT NULL,
    succeeded      boolean NOT NULL,
    attempted_at   timestamptz NOT NULL
);
CREATE INDEX login_attempts_account ON identity.login_attempts (account_key, attempted_at);
CREATE INDEX login_attempts_address ON identity.login_attempts (client_address, attempted_at)
    WHERE NOT succeeded;

CREATE TABLE identity.refresh_tokens (
    token_digest    bytea PRIMARY KEY,  -- SHA-256 of the opaque token
    user_id         uuid NOT NULL REFERENCES identity.users ON DELETE CASCADE,
    session_version integer NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    -- Set when the token was exchanged by refresh; a second use of it means it leaked.
    rotated_at      timestamptz
);
CREATE INDEX refresh_tokens_user ON identity.refresh_tokens (user_id);

-- Access tokens ended by logout before their expiry; purged once expired.
CREATE TABLE identity.revoked_access_tokens (
    jti        uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

GRANT USAGE ON SCHEMA identity TO {app_role};
REVOKE ALL ON identity.events FROM {app_role};
GRANT SELECT, INSERT ON identity.events TO {app_role};
GRANT SELECT, INSERT ON identity.command_results TO {app_role};
GRANT SELECT, INSERT, UPDATE ON identity.relay_positions TO {app_role};
GRANT SELECT, INSERT, UPDATE ON identity.organisations, identity.users, identity.departments
    TO {app_role};
GRANT SELECT, INSERT, DELETE ON identity.department_members TO {app_role};
GRANT SELECT, INSERT, UPDATE, DELETE ON identity.verification_codes, identity.refresh_tokens
    TO {app_role};
GRANT SELECT, INSERT, DELETE ON identity.code_requests, identity.login_attempts,
    identity.revoked_access_tokens TO {app_role};
