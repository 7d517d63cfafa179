-- Duplicate discouragement (issue 6): "does this customer already have an open ticket
-- on (nearly) this subject?" is answered with trigram similarity (pg_trgm) over a
-- comparison key of the subject. pg_trgm is a trusted extension (PostgreSQL 13+): the
-- database owner that runs migrations may create it without being a superuser.
--
-- Trigrams need a UTF-8 database with a UTF-8 LC_CTYPE (C.UTF-8, fa_IR.UTF-8, ...):
-- under plain "C" every Persian letter counts as a non-word character and Persian
-- subjects have no trigrams at all.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The key two subjects are compared by. Stored subjects are already normalised
-- (Arabic Yeh/Kaf -> Persian) by the tickets service; on top of that, ZWNJ is dropped
-- (people type «می‌خواهم» and «میخواهم» alike) and Persian/Arabic digits become ASCII
-- («قبض ۱۲۳» is «قبض 123»). IMMUTABLE, so it can be indexed.
CREATE FUNCTION tickets.subject_key(subject text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(translate(subject,
                                 '۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩' || U&'\200C',
                                 '01234567890123456789')) $$;

-- Serves similarity searches over the whole read model (the % operator, e.g. for an
-- agent's "similar tickets" view); the per-customer duplicate check itself is driven
-- by the customer index and computes similarity over that customer's few rows.
CREATE INDEX ticket_summary_subject_trgm ON tickets.ticket_summary
    USING gin (tickets.subject_key(subject) gin_trgm_ops);
