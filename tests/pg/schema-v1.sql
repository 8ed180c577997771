-- schema-v1.sql: sql/schema.sql as of version 1 (git show 05fd471:sql/schema.sql), kept verbatim
-- so tests/unit/test_store_pg.c can build a version 1 database and migrate it.
-- schema.sql: the PostgreSQL schema of rendezvousd's "postgres://" store.
--
-- Idempotent: `rendezvousd --store postgres://... --init-db` applies it (in one transaction, under
-- an advisory lock so front-ends started together do not race), and applying it again changes
-- nothing. psql -f sql/schema.sql does the same by hand.
--
-- One row per registration, keyed by (namespace, peer id) as raw bytes: bytea compares bytewise,
-- which is the order the admin API pages in, and holds any namespace the protocol allows.
-- Expiry is absolute time on the database clock (expires_at = now() + ttl at the upsert), so
-- front-ends with skewed clocks agree on what is live.

CREATE TABLE IF NOT EXISTS rdv_registrations (
    ns            bytea         NOT NULL CHECK (octet_length(ns) BETWEEN 1 AND 256),
    peer_id       bytea         NOT NULL CHECK (octet_length(peer_id) BETWEEN 1 AND 64),
    -- the peer record's seq, an unsigned 64-bit number (bigint is signed)
    seq           numeric(20,0) NOT NULL CHECK (seq >= 0 AND seq <= 18446744073709551615),
    envelope      bytea         NOT NULL CHECK (octet_length(envelope) BETWEEN 1 AND 8192),
    registered_at timestamptz   NOT NULL,
    expires_at    timestamptz   NOT NULL,
    -- The primary key's index serves discovery: DISCOVER reads one namespace (leading column),
    -- and the admin API lists a namespace's registrations in peer id order.
    PRIMARY KEY (ns, peer_id)
);

-- Serves the reaper: DELETE ... WHERE expires_at < now() reads only the expired end.
CREATE INDEX IF NOT EXISTS rdv_registrations_expires_at ON rdv_registrations (expires_at);

-- Serves the per-peer registration cap: count a peer's live rows across namespaces.
CREATE INDEX IF NOT EXISTS rdv_registrations_peer ON rdv_registrations (peer_id, expires_at);

-- Which revision of this file the database holds; a later revision adds its migration here.
CREATE TABLE IF NOT EXISTS rdv_schema_version (
    version    integer     PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO rdv_schema_version (version) VALUES (1) ON CONFLICT (version) DO NOTHING;
