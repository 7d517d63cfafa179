#!/bin/sh
# Run once by the postgres image when it initialises an empty data directory: the
# unprivileged login role the services connect as. Migrations (the `setup` one-shot)
# run as the owner and grant this role what each service needs: INSERT/SELECT on the
# event logs, never UPDATE or DELETE.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v app_password="$PASOKH_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE pasokh_app LOGIN PASSWORD :'app_password';
SQL
