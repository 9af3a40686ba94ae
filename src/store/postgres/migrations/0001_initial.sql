-- 0001_initial.sql - the notifd schema on PostgreSQL.
--
-- The same data model as the SQLite backend (src/store/sqlite/schema.c,
-- both of its migrations), laid out for PostgreSQL and for Citus:
--
-- * tenants and api_keys are small, read on every request and seldom
--   written: they are meant to be Citus reference tables (copied to every
--   node). What changes with every write of a tenant (its delivery counter,
--   its next notification key and segment id) lives in tenant_counters
--   instead, distributed like the tenant's other rows, so that a write stays
--   on the tenant's node rather than updating every node.
-- * Every other table is scoped by tenant_id, the distribution column: each
--   primary key and unique constraint starts with it and every query filters
--   on it, so a tenant's rows live on one node and its queries and
--   transactions stay there (create_distributed_table(..., 'tenant_id'),
--   all colocated).
-- * No foreign keys, as in SQLite: the store's transactions keep the rows
--   consistent, and counters (tenants/targets/notifications.deliveries,
--   segments.members) are maintained in the same transactions.
-- * Text that is compared or ordered is COLLATE "C": byte order, like
--   SQLite's BINARY collation, whatever the database's locale.
-- * Times are bigint Unix milliseconds, NULL when absent. GUIDs are uuid,
--   which compares like memcmp() over the 16 bytes (SQLite's BLOB order).
-- * Delivery indexes that serve listings are partial (WHERE deleted_at IS
--   NULL): soft-deleted rows leave them, and each ends with the tie-break
--   columns of its order (src/store/postgres/list.c) so that a page is read
--   from the index without sorting. Index names are those of the SQLite
--   schema, so a plan names the same index on both backends.

CREATE TABLE tenants (
	id bigserial PRIMARY KEY,
	name text COLLATE "C" NOT NULL UNIQUE,
	time_zone text NOT NULL DEFAULT 'America/New_York',
	created_at bigint NOT NULL
);

-- One row per tenant, created with it. Its row lock orders the writers of a
-- tenant's deliveries (src/store/postgres/notifications.c): keys come out
-- consecutive, and the counter exact, across processes. A small fillfactor
-- leaves room for its frequent updates to stay on their page (HOT).
CREATE TABLE tenant_counters (
	tenant_id bigint PRIMARY KEY,
	next_notification_key bigint NOT NULL DEFAULT 1,
	next_segment_id bigint NOT NULL DEFAULT 1,
	deliveries bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

CREATE TABLE api_keys (
	hash bytea PRIMARY KEY,
	id text COLLATE "C" NOT NULL UNIQUE,
	tenant_id bigint NOT NULL,
	role text NOT NULL CHECK (role IN ('admin', 'member')),
	target text,
	created_at bigint NOT NULL,
	revoked_at bigint
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, created_at, id);

-- tid is a surrogate key, so that deliveries and memberships store 8 bytes
-- instead of the up-to-128-byte external id. It grows with creation, as
-- SQLite's rowid does, and list orders use it as a tie-break.
CREATE TABLE targets (
	tenant_id bigint NOT NULL,
	tid bigserial NOT NULL,
	ext_id text COLLATE "C" NOT NULL,
	name text,
	email text,
	profile text,
	attributes text NOT NULL DEFAULT '{}',
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL,
	deliveries bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, tid),
	UNIQUE (tenant_id, ext_id)
) WITH (fillfactor = 90);

CREATE TABLE segments (
	tenant_id bigint NOT NULL,
	id integer NOT NULL,
	name text NOT NULL,
	created_at bigint NOT NULL,
	members bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, id)
) WITH (fillfactor = 90);

CREATE TABLE memberships (
	tenant_id bigint NOT NULL,
	segment_id integer NOT NULL,
	tid bigint NOT NULL,
	created_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, segment_id, tid)
);
CREATE INDEX memberships_target ON memberships (tenant_id, tid, segment_id);

CREATE TABLE campaigns (
	tenant_id bigint NOT NULL,
	id text COLLATE "C" NOT NULL,
	name text NOT NULL,
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, id)
);

CREATE TABLE notifications (
	tenant_id bigint NOT NULL,
	nkey integer NOT NULL,
	guid uuid NOT NULL,
	libelle text COLLATE "C" NOT NULL,
	body text,
	url text,
	type text COLLATE "C",
	action_type integer NOT NULL DEFAULT 0,
	campaign_id text COLLATE "C",
	profile text,
	screen_names text NOT NULL DEFAULT '[]',
	batch text,
	date_started bigint,
	date_due bigint,
	created_at bigint NOT NULL,
	deliveries bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, nkey),
	UNIQUE (tenant_id, guid)
) WITH (fillfactor = 90);
-- Unique and ending in nkey, like their SQLite twins: an order continues
-- into each notification's deliveries without a sort.
CREATE UNIQUE INDEX notifications_campaign ON notifications (tenant_id, campaign_id, nkey);
CREATE UNIQUE INDEX notifications_type ON notifications (tenant_id, type NULLS FIRST, nkey);
CREATE UNIQUE INDEX notifications_title ON notifications (tenant_id, libelle, nkey);
CREATE UNIQUE INDEX notifications_created ON notifications (tenant_id, created_at, nkey);

-- Clustered like SQLite's WITHOUT ROWID table on its primary key: one
-- target's feed over a time window is one range of the key. A notification
-- is routed at one time, so (tid, nkey) is unique too; a recipient named
-- twice gets one delivery through ON CONFLICT DO NOTHING on this key.
CREATE TABLE deliveries (
	tenant_id bigint NOT NULL,
	tid bigint NOT NULL,
	routed_at bigint NOT NULL,
	nkey integer NOT NULL,
	guid uuid NOT NULL,
	impression bigint,
	activation bigint,
	redirection bigint,
	dismiss bigint,
	read_at bigint,
	completed_at bigint,
	deleted_at bigint,
	updated_at bigint NOT NULL,
	PRIMARY KEY (tenant_id, tid, routed_at, nkey)
);
CREATE INDEX deliveries_notification ON deliveries (tenant_id, nkey, tid);
CREATE INDEX deliveries_routed ON deliveries (tenant_id, routed_at, tid, nkey)
	WHERE deleted_at IS NULL;
CREATE INDEX deliveries_completed ON deliveries
	(tenant_id, completed_at NULLS FIRST, tid, routed_at, nkey) WHERE deleted_at IS NULL;
CREATE INDEX deliveries_modified ON deliveries (tenant_id, updated_at, tid, routed_at, nkey)
	WHERE deleted_at IS NULL;
CREATE INDEX deliveries_read ON deliveries
	(tenant_id, (read_at IS NOT NULL), routed_at, tid, nkey) WHERE deleted_at IS NULL;
CREATE INDEX deliveries_tenant_guid ON deliveries (tenant_id, guid) WHERE deleted_at IS NULL;

-- A new GUID as nd_guid_v7() makes them (RFC 9562 version 7: 48 bits of
-- Unix milliseconds, then random bits), so that fan-out to a segment is one
-- INSERT .. SELECT. The random part is a version-4 UUID's with its version
-- nibble replaced; its variant bits are already those of version 7. One
-- expression and no FROM, so the planner inlines it.
CREATE FUNCTION notifd_guid() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
	SELECT (lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')
		|| '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid
$$;
