-- Right to be forgotten (docs/privacy.md): on identity's UserErased, notify masks the
-- numbers and texts of the user's messages and deletes the console provider's copies.
GRANT DELETE ON notify.outbox TO {app_role};
