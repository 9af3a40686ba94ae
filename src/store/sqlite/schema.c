/* schema.c - numbered forward migrations of the SQLite schema.
 *
 * PRAGMA user_version holds the number of the last migration applied. Each
 * migration runs in its own transaction; a database written by a newer
 * notifd (a higher version than this build knows) is refused.
 *
 * Layout notes:
 * - deliveries is clustered on (tenant_id, tid, routed_at, nkey) in a
 *   WITHOUT ROWID table, so one target's feed over a time window is one
 *   contiguous range of the b-tree;
 * - targets carry an integer tid so that deliveries and memberships store
 *   8 bytes instead of the up-to-128-byte external id;
 * - GUIDs are 16-byte blobs, formatted only at the edges;
 * - times are integer Unix milliseconds, NULL when absent. */
#include "store/sqlite/sq.h"

#include <stdio.h>

static const char *const migrations[] = {
	/* 1: the foundation data model */
	"CREATE TABLE tenants ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  time_zone TEXT NOT NULL DEFAULT 'America/New_York',"
	"  next_notification_key INTEGER NOT NULL DEFAULT 1,"
	"  next_segment_id INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE api_keys ("
	"  hash BLOB PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  tenant_id INTEGER NOT NULL,"
	"  role TEXT NOT NULL CHECK (role IN ('admin', 'member')),"
	"  target TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  revoked_at INTEGER) WITHOUT ROWID;"
	"CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);"
	"CREATE TABLE targets ("
	"  tid INTEGER PRIMARY KEY,"
	"  tenant_id INTEGER NOT NULL,"
	"  ext_id TEXT NOT NULL,"
	"  name TEXT, email TEXT, profile TEXT,"
	"  attributes TEXT NOT NULL DEFAULT '{}',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (tenant_id, ext_id));"
	"CREATE TABLE segments ("
	"  tenant_id INTEGER NOT NULL,"
	"  id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;"
	"CREATE TABLE memberships ("
	"  tenant_id INTEGER NOT NULL,"
	"  segment_id INTEGER NOT NULL,"
	"  tid INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, segment_id, tid)) WITHOUT ROWID;"
	"CREATE INDEX memberships_target ON memberships (tid, segment_id);"
	"CREATE TABLE campaigns ("
	"  tenant_id INTEGER NOT NULL,"
	"  id TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;"
	"CREATE TABLE notifications ("
	"  tenant_id INTEGER NOT NULL,"
	"  nkey INTEGER NOT NULL,"
	"  guid BLOB NOT NULL UNIQUE,"
	"  libelle TEXT NOT NULL,"
	"  body TEXT, url TEXT, type TEXT,"
	"  action_type INTEGER NOT NULL DEFAULT 0,"
	"  campaign_id TEXT, profile TEXT,"
	"  screen_names TEXT NOT NULL DEFAULT '[]',"
	"  batch TEXT,"
	"  date_started INTEGER, date_due INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant_id, nkey)) WITHOUT ROWID;"
	"CREATE TABLE deliveries ("
	"  tenant_id INTEGER NOT NULL,"
	"  tid INTEGER NOT NULL,"
	"  routed_at INTEGER NOT NULL,"
	"  nkey INTEGER NOT NULL,"
	"  guid BLOB NOT NULL,"
	"  impression INTEGER, activation INTEGER, redirection INTEGER,"
	"  dismiss INTEGER, read_at INTEGER, completed_at INTEGER,"
	"  deleted_at INTEGER,"
	"  PRIMARY KEY (tenant_id, tid, routed_at, nkey)) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX deliveries_guid ON deliveries (guid);"
	"CREATE INDEX deliveries_notification ON deliveries (tenant_id, nkey, tid);",

	/* 2: listing a tenant's deliveries (the API3 face): a modification
	 * time, live-delivery counters so totals never need a count over a
	 * big tenant, and an index for every filter and order. The delivery
	 * indexes are partial: deleted rows never appear in a listing. */
	"ALTER TABLE deliveries ADD COLUMN updated_at INTEGER;"
	"UPDATE deliveries SET updated_at = routed_at;"
	"ALTER TABLE tenants ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE targets ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE notifications ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"UPDATE tenants SET deliveries = (SELECT count(*) FROM deliveries d"
	"  WHERE d.tenant_id = tenants.id AND d.deleted_at IS NULL);"
	"UPDATE targets SET deliveries = (SELECT count(*) FROM deliveries d"
	"  WHERE d.tenant_id = targets.tenant_id AND d.tid = targets.tid AND d.deleted_at IS NULL);"
	"UPDATE notifications SET deliveries = (SELECT count(*) FROM deliveries d"
	"  WHERE d.tenant_id = notifications.tenant_id AND d.nkey = notifications.nkey"
	"  AND d.deleted_at IS NULL);"
	"CREATE INDEX deliveries_routed ON deliveries (tenant_id, routed_at)"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_completed ON deliveries (tenant_id, completed_at)"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_modified ON deliveries (tenant_id, updated_at)"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX deliveries_read ON deliveries (tenant_id, read_at IS NOT NULL, routed_at)"
	"  WHERE deleted_at IS NULL;"
	"CREATE INDEX notifications_campaign ON notifications (tenant_id, campaign_id);"
	"CREATE INDEX notifications_type ON notifications (tenant_id, type);"
	"CREATE INDEX notifications_title ON notifications (tenant_id, libelle);"
	"CREATE INDEX notifications_created ON notifications (tenant_id, created_at);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

struct step {
	int version;
};

static enum nd_err apply(struct nd_store_conn *c, void *arg, struct nd_error *err)
{
	struct step *s = arg;
	/* Re-read inside the write lock: another process may have migrated. */
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "read schema version", err);
	int current = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (current != s->version - 1)
		return ND_OK;
	rc = sqlite3_exec(c->db, migrations[s->version - 1], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "migrate schema", err);
	char sql[48];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", s->version);
	rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ND_OK : sq_fail(c, rc, "write schema version", err);
}

enum nd_err sq_migrate(struct nd_store_conn *c, struct nd_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "read schema version", err);
	rc = sqlite3_step(st);
	int version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_fail(c, rc, "read schema version", err);
	if (version > N_MIGRATIONS)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "db",
			       "database %s has schema version %d, newer than this notifd (%d)",
			       c->store->path, version, N_MIGRATIONS);
	for (int v = version + 1; v <= N_MIGRATIONS; v++) {
		struct step s = {v};
		enum nd_err e = sq_tx(c, apply, &s, err);
		if (e)
			return e;
	}
	return ND_OK;
}
