-- schema.sql: the PostgreSQL schema of rendezvousd's "postgres://" store, version 2.
--
-- Idempotent: `rendezvousd --store postgres://... --init-db` applies it (in one transaction, under
-- an advisory lock so front-ends started together do not race), and applying it again changes
-- nothing. It creates version 2 from nothing, or migrates a version 1 database in place (the DO
-- block below); it refuses a database that a newer rendezvousd has marked with a higher version.
-- By hand: psql -1 -v ON_ERROR_STOP=1 -f sql/schema.sql (-1: one transaction, as --init-db).
--
-- One row per registration, keyed by (namespace, record kind, peer id): namespaces and peer ids
-- are raw bytes (bytea compares bytewise, the order the admin API pages in, and holds any
-- namespace the protocol allows). Expiry is absolute time on the database clock
-- (expires_at = now() + ttl at the upsert), so front-ends with skewed clocks agree on what is live.

-- Which revision of this file the database holds: front-ends serve only the one they were built
-- for (max(version) = 2) and tell the operator to run --init-db otherwise.
CREATE TABLE IF NOT EXISTS rdv_schema_version (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

DO $newer$
DECLARE v integer;
BEGIN
    SELECT max(version) INTO v FROM rdv_schema_version;
    IF v > 2 THEN
        RAISE EXCEPTION 'schema version % is newer than this rendezvousd knows (2): upgrade rendezvousd', v;
    END IF;
END
$newer$;

-- The registration counter: every put (a refresh too) takes the next value, and ordered discovery
-- (cookies) pages by it. NO CYCLE, and CACHE 1 (the default) on purpose: a per-session cache
-- would hand each front-end its own block of values, so counters would no longer follow the
-- order puts were made in.
CREATE SEQUENCE IF NOT EXISTS rdv_registration_counter AS bigint MINVALUE 1 NO CYCLE CACHE 1;

-- The primary key's order (ns, kind, peer_id) serves: the upsert and unregister (the whole key),
-- sampled DISCOVER (ns = $ AND kind = $, a prefix), listing one (ns, kind)'s registrations in
-- peer id order, and listing namespaces in (ns, kind) order, where GROUP BY reads the index in
-- order and stops after one page instead of sorting every group.
CREATE TABLE IF NOT EXISTS rdv_registrations (
    ns            bytea         NOT NULL CHECK (octet_length(ns) BETWEEN 1 AND 256),
    -- the record kind (src/rendezvous/ numbers them; the store's table has room for 4)
    kind          smallint      NOT NULL DEFAULT 0 CONSTRAINT rdv_registrations_kind_check
                                CHECK (kind BETWEEN 0 AND 3),
    peer_id       bytea         NOT NULL CHECK (octet_length(peer_id) BETWEEN 1 AND 64),
    -- the protocol dialect that made the registration: shown and counted, not part of the key
    dialect       smallint      NOT NULL DEFAULT 0 CONSTRAINT rdv_registrations_dialect_check
                                CHECK (dialect BETWEEN 0 AND 3),
    counter       bigint        NOT NULL DEFAULT nextval('rdv_registration_counter'),
    -- the peer record's seq, an unsigned 64-bit number (bigint is signed)
    seq           numeric(20,0) NOT NULL CHECK (seq >= 0 AND seq <= 18446744073709551615),
    envelope      bytea         NOT NULL CHECK (octet_length(envelope) BETWEEN 1 AND 8192),
    registered_at timestamptz   NOT NULL,
    expires_at    timestamptz   NOT NULL,
    CONSTRAINT rdv_registrations_pkey PRIMARY KEY (ns, kind, peer_id)
);

-- Version 1 -> 2, in place: the new columns (existing rows become kind 0 / dialect 0, and each
-- takes a counter from the sequence: the volatile default rewrites the table once), then the
-- key gains kind. Keyed on the catalog, not on rdv_schema_version, so it also completes a
-- database someone half-migrated by hand; on a version 2 table it does nothing.
DO $migrate$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'rdv_registrations'::regclass
                   AND attname = 'kind' AND NOT attisdropped) THEN
        ALTER TABLE rdv_registrations
            ADD COLUMN kind smallint NOT NULL DEFAULT 0 CONSTRAINT rdv_registrations_kind_check
                CHECK (kind BETWEEN 0 AND 3),
            ADD COLUMN IF NOT EXISTS dialect smallint NOT NULL DEFAULT 0 CONSTRAINT rdv_registrations_dialect_check
                CHECK (dialect BETWEEN 0 AND 3),
            ADD COLUMN IF NOT EXISTS counter bigint NOT NULL DEFAULT nextval('rdv_registration_counter');
        ALTER TABLE rdv_registrations DROP CONSTRAINT rdv_registrations_pkey;
        ALTER TABLE rdv_registrations ADD CONSTRAINT rdv_registrations_pkey PRIMARY KEY (ns, kind, peer_id);
    END IF;
END
$migrate$;

-- (expires_at) alone served the reaper before rdv_registrations_live below, which leads with the
-- same column and serves it as well. Every put moves expires_at, so each index costs an entry per
-- REGISTER: the redundant one goes (a schema-2 database made by an older --init-db has it).
DROP INDEX IF EXISTS rdv_registrations_expires_at;

-- Serves stats() (every /metrics scrape): count(*), count(DISTINCT ns) and the per-dialect counts
-- of live rows as an index-only scan of this covering index, never the heap of wide envelopes;
-- and the reaper: DELETE ... WHERE expires_at <= now() reads only the expired end.
-- Not part of the version check (front-ends only run faster with it): --init-db adds it to an
-- existing version 2 database.
CREATE INDEX IF NOT EXISTS rdv_registrations_live ON rdv_registrations (expires_at) INCLUDE (ns, dialect);

-- Serves the per-peer registration cap: count a peer's live rows across namespaces and kinds.
CREATE INDEX IF NOT EXISTS rdv_registrations_peer ON rdv_registrations (peer_id, expires_at);

-- Serve ordered discovery (cookies): the records of one (kind, ns), or of a kind in every
-- namespace, with counter > $ in counter order: an index range scan that stops after a page.
CREATE INDEX IF NOT EXISTS rdv_registrations_kind_ns_counter ON rdv_registrations (kind, ns, counter);
CREATE INDEX IF NOT EXISTS rdv_registrations_kind_counter ON rdv_registrations (kind, counter);

-- Store-wide settings. 'cookie_secret': the 32-byte key every front-end MACs discover cookies
-- with; rendezvousd draws it (libsodium) and inserts it with ON CONFLICT DO NOTHING, then reads
-- it back, so the first writer wins and all front-ends share it.
CREATE TABLE IF NOT EXISTS rdv_meta (
    key   text  PRIMARY KEY,
    value bytea NOT NULL
);

INSERT INTO rdv_schema_version (version) VALUES (2) ON CONFLICT (version) DO NOTHING;
