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
 * - GUIDs are 16-byte blobs, formatted only at the edges; random version-4
 *   values, unique by construction, looked up within their tenant;
 * - times are integer Unix milliseconds, NULL when absent;
 * - the planner works from fixed statistics (sqlite_stat1, written by
 *   migration 2) that describe a large deployment rather than from ANALYZE:
 *   without statistics SQLite picks some plans that scan a whole tenant, and
 *   measured statistics would make plans depend on whatever the data looked
 *   like when they were taken. notifd never runs ANALYZE; the plans its
 *   queries get are pinned by tests. */
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
	 * time, live counters (deliveries, segment members) so totals never
	 * need a count over a big tenant, and an index for every filter and
	 * order. Delivery
	 * indexes lead with (tenant_id, deleted_at): "deleted_at IS NULL" is
	 * then an equality on the index, live rows are one range, and a count
	 * over a window is read from the index alone. Notification indexes
	 * end in nkey and are UNIQUE, which lets the planner continue an order
	 * into each notification's deliveries without sorting. */
	"ALTER TABLE deliveries ADD COLUMN updated_at INTEGER;"
	"UPDATE deliveries SET updated_at = routed_at;"
	"ALTER TABLE tenants ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE targets ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE notifications ADD COLUMN deliveries INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE segments ADD COLUMN members INTEGER NOT NULL DEFAULT 0;"
	"UPDATE segments SET members = c.n FROM (SELECT tenant_id, segment_id, count(*) AS n"
	"  FROM memberships GROUP BY tenant_id, segment_id) AS c"
	"  WHERE segments.tenant_id = c.tenant_id AND segments.id = c.segment_id;"
	"UPDATE tenants SET deliveries = c.n FROM (SELECT tenant_id, count(*) AS n"
	"  FROM deliveries WHERE deleted_at IS NULL GROUP BY tenant_id) AS c"
	"  WHERE tenants.id = c.tenant_id;"
	"UPDATE targets SET deliveries = c.n FROM (SELECT tid, count(*) AS n"
	"  FROM deliveries WHERE deleted_at IS NULL GROUP BY tid) AS c"
	"  WHERE targets.tid = c.tid;"
	"UPDATE notifications SET deliveries = c.n FROM (SELECT tenant_id, nkey, count(*) AS n"
	"  FROM deliveries WHERE deleted_at IS NULL GROUP BY tenant_id, nkey) AS c"
	"  WHERE notifications.tenant_id = c.tenant_id AND notifications.nkey = c.nkey;"
	"DROP INDEX deliveries_guid;"
	"CREATE INDEX deliveries_routed ON deliveries (tenant_id, deleted_at, routed_at);"
	"CREATE INDEX deliveries_completed ON deliveries (tenant_id, deleted_at, completed_at);"
	"CREATE INDEX deliveries_modified ON deliveries (tenant_id, deleted_at, updated_at);"
	"CREATE INDEX deliveries_read ON deliveries"
	"  (tenant_id, deleted_at, read_at IS NOT NULL, routed_at);"
	"CREATE INDEX deliveries_tenant_guid ON deliveries (tenant_id, deleted_at, guid);"
	"CREATE UNIQUE INDEX notifications_campaign ON notifications (tenant_id, campaign_id, nkey);"
	"CREATE UNIQUE INDEX notifications_type ON notifications (tenant_id, type, nkey);"
	"CREATE UNIQUE INDEX notifications_title ON notifications (tenant_id, libelle, nkey);"
	"CREATE UNIQUE INDEX notifications_created ON notifications (tenant_id, created_at, nkey);"
	/* Fixed planner statistics describing a big deployment (see below). */
	"ANALYZE sqlite_schema;"
	"DELETE FROM sqlite_stat1;"
	"INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES"
	" ('tenants', 'sqlite_autoindex_tenants_1', '100 1'),"
	" ('api_keys', 'api_keys', '10000 1'),"
	" ('api_keys', 'sqlite_autoindex_api_keys_2', '10000 1'),"
	" ('api_keys', 'api_keys_tenant', '10000 100 1'),"
	" ('targets', 'sqlite_autoindex_targets_1', '1000000 10000 1'),"
	" ('segments', 'segments', '10000 100 1'),"
	" ('memberships', 'memberships', '10000000 100000 10000 1'),"
	" ('memberships', 'memberships_target', '10000000 10 1'),"
	" ('campaigns', 'campaigns', '10000 100 1'),"
	" ('notifications', 'notifications', '1000000 10000 1'),"
	" ('notifications', 'sqlite_autoindex_notifications_1', '1000000 1'),"
	" ('notifications', 'notifications_campaign', '1000000 10000 100 1'),"
	" ('notifications', 'notifications_type', '1000000 10000 500 1'),"
	" ('notifications', 'notifications_title', '1000000 10000 5 1'),"
	" ('notifications', 'notifications_created', '1000000 10000 1 1'),"
	" ('deliveries', 'deliveries', '100000000 1000000 100 1 1'),"
	" ('deliveries', 'deliveries_notification', '100000000 1000000 100 1'),"
	" ('deliveries', 'deliveries_routed', '100000000 1000000 1000000 100'),"
	" ('deliveries', 'deliveries_completed', '100000000 1000000 1000000 10000'),"
	" ('deliveries', 'deliveries_modified', '100000000 1000000 1000000 10'),"
	" ('deliveries', 'deliveries_read', '100000000 1000000 1000000 500000 100'),"
	" ('deliveries', 'deliveries_tenant_guid', '100000000 1000000 1000000 1');"
	"ANALYZE sqlite_schema;",

	/* 3: a tenant-wide listing in routing order walks the notifications.
	 * Every delivery is routed at its notification's date_started, so
	 * "newest first" is the notifications by date_started, each one's
	 * deliveries by target through deliveries_notification: an index read in
	 * order with or without a campaign, type or date_started filter (which
	 * the notification indexes then lead with), and a window's total is a
	 * sum over its notifications. deliveries_routed, one of the indexes every
	 * delivery writes, is gone, and deliveries_completed breaks ties by
	 * routing time, notification, target: a new delivery (not completed)
	 * lands at the end of it instead of at its target's place in a
	 * tenant-wide run (the raw insert with notifd's indexes went from
	 * ~35,000 to ~45,000-53,000 rows/s). SQLite continues an order from one table
	 * into the next only through a UNIQUE index whose columns are NOT NULL,
	 * hence the rebuild with date_started NOT NULL (it always was set), and
	 * type_key: the type as a NOT NULL sort key ('' for none, sorting first,
	 * then 'T' and the type), which the type filter and order use. */
	"CREATE TABLE notifications_new ("
	"  tenant_id INTEGER NOT NULL,"
	"  nkey INTEGER NOT NULL,"
	"  guid BLOB NOT NULL UNIQUE,"
	"  libelle TEXT NOT NULL,"
	"  body TEXT, url TEXT, type TEXT,"
	"  action_type INTEGER NOT NULL DEFAULT 0,"
	"  campaign_id TEXT, profile TEXT,"
	"  screen_names TEXT NOT NULL DEFAULT '[]',"
	"  batch TEXT,"
	"  date_started INTEGER NOT NULL, date_due INTEGER,"
	"  created_at INTEGER NOT NULL,"
	"  deliveries INTEGER NOT NULL DEFAULT 0,"
	"  type_key TEXT NOT NULL"
	"    GENERATED ALWAYS AS (CASE WHEN type IS NULL THEN '' ELSE 'T' || type END) VIRTUAL,"
	"  PRIMARY KEY (tenant_id, nkey)) WITHOUT ROWID;"
	"INSERT INTO notifications_new (tenant_id, nkey, guid, libelle, body, url, type,"
	"  action_type, campaign_id, profile, screen_names, batch, date_started, date_due,"
	"  created_at, deliveries)"
	"  SELECT tenant_id, nkey, guid, libelle, body, url, type,"
	"  action_type, campaign_id, profile, screen_names, batch,"
	"  coalesce(date_started, (SELECT max(d.routed_at) FROM deliveries d"
	"    WHERE d.tenant_id = n.tenant_id AND d.nkey = n.nkey), created_at),"
	"  date_due, created_at, deliveries FROM notifications n;"
	"DROP TABLE notifications;"
	"ALTER TABLE notifications_new RENAME TO notifications;"
	"DROP INDEX deliveries_routed;"
	"DROP INDEX deliveries_completed;"
	"CREATE INDEX deliveries_completed ON deliveries"
	"  (tenant_id, deleted_at, completed_at, routed_at, nkey);"
	"CREATE UNIQUE INDEX notifications_started ON notifications (tenant_id, date_started, nkey);"
	"CREATE UNIQUE INDEX notifications_campaign ON notifications"
	"  (tenant_id, campaign_id, date_started, nkey);"
	"CREATE UNIQUE INDEX notifications_type ON notifications"
	"  (tenant_id, type_key, date_started, nkey);"
	"CREATE UNIQUE INDEX notifications_title ON notifications (tenant_id, libelle, nkey);"
	"CREATE UNIQUE INDEX notifications_created ON notifications (tenant_id, created_at, nkey);"
	"DELETE FROM sqlite_stat1 WHERE tbl IN ('notifications', 'notifications_new')"
	"  OR idx IN ('deliveries_routed', 'deliveries_completed');"
	"INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES"
	" ('deliveries', 'deliveries_completed', '100000000 1000000 1000000 10000 100 1 1'),"
	" ('notifications', 'notifications', '1000000 10000 1'),"
	" ('notifications', 'sqlite_autoindex_notifications_1', '1000000 1'),"
	" ('notifications', 'notifications_started', '1000000 10000 1 1'),"
	" ('notifications', 'notifications_campaign', '1000000 10000 100 1 1'),"
	" ('notifications', 'notifications_type', '1000000 10000 500 1 1'),"
	" ('notifications', 'notifications_title', '1000000 10000 5 1'),"
	" ('notifications', 'notifications_created', '1000000 10000 1 1');"
	"ANALYZE sqlite_schema;",

	/* 4: a tenant-wide page reads its deliveries from deliveries_notification
	 * alone. The pages that walk the notifications (newest first; by
	 * title, creation, type or key; a campaign, type or date_started
	 * filter) reach each delivery through this index, and went to the table
	 * only for whether it is live, its GUID and its read time: a seek a row
	 * (and one for each row an OFFSET skips), most of such a page's time.
	 * With those columns in the index, after the ones that order it, the
	 * raw page of 20 by title went from ~72,000 to ~159,000 reads/s, page 3
	 * from ~32,500 to ~124,000, a campaign's from ~50,000 to ~81,000. The
	 * raw insert with notifd's indexes did not change measurably (the
	 * columns ride on an entry written anyway); the database grew ~9%, and
	 * a read event or a delete now rewrites this entry too. */
	"DROP INDEX deliveries_notification;"
	"CREATE INDEX deliveries_notification ON deliveries"
	"  (tenant_id, nkey, tid, deleted_at, guid, read_at);"
	"DELETE FROM sqlite_stat1 WHERE idx = 'deliveries_notification';"
	"INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES"
	" ('deliveries', 'deliveries_notification', '100000000 1000000 100 1 1 1 1');"
	"ANALYZE sqlite_schema;",
	/* 5: a member's page finds the member and its live counter in one
	 * index entry. Its row id came from the UNIQUE (tenant_id, ext_id)
	 * index, its total from a statement of its own that read the same
	 * entry and then the targets table: two pages of a large database
	 * that a random member rarely finds in the CPU's caches, ~5% of a
	 * member's page (bench/README.md). The page's own lookup now reads both
	 * from this index (sq_op_list()); a counter's update rewrites its
	 * entry as well, ~12% of a fan-out's time (docs/design.md). */
	"CREATE INDEX targets_counted ON targets (tenant_id, ext_id, deliveries);"
	"INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES"
	" ('targets', 'targets_counted', '1000000 10000 1 1');"
	"ANALYZE sqlite_schema;",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

const char *sq_migration_sql(int version)
{
	return version >= 1 && version <= N_MIGRATIONS ? migrations[version - 1] : NULL;
}

struct step {
	int version;
};

/* The schema version of the database, and whether this notifd knows it. */
static enum nd_err known_version(struct sq_conn *c, int *version, struct nd_error *err)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "read schema version", err);
	rc = sq_step(st);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_fail(c, rc, "read schema version", err);
	if (*version > N_MIGRATIONS)
		return nd_fail(err, ND_ERR_INVALID_PARAM, NULL,
			       "database %s has schema version %d, newer than this notifd (%d)",
			       c->store->path, *version, N_MIGRATIONS);
	return ND_OK;
}

static enum nd_err apply(struct sq_conn *c, void *arg, struct nd_error *err)
{
	struct step *s = arg;
	/* Re-read inside the write lock: another process may have migrated
	 * (a read that failed is a failure, never a sign of that). */
	int current;
	enum nd_err e = known_version(c, &current, err);
	if (e || current != s->version - 1)
		return e;
	int rc = sqlite3_exec(c->db, migrations[s->version - 1], NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(c, rc, "migrate schema", err);
	char sql[48];
	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", s->version);
	rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? ND_OK : sq_fail(c, rc, "write schema version", err);
}

enum nd_err sq_schema_check(struct sq_conn *c, struct nd_error *err)
{
	int version;
	return known_version(c, &version, err);
}

enum nd_err sq_migrate(struct sq_conn *c, struct nd_error *err)
{
	int version;
	enum nd_err e = known_version(c, &version, err);
	for (int v = version + 1; !e && v <= N_MIGRATIONS; v++) {
		struct step s = {v};
		e = sq_tx(c, apply, &s, err);
	}
	return e;
}
