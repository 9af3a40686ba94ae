/* schema.c - numbered forward migrations of the PostgreSQL schema.
 *
 * The migrations are the files src/store/postgres/migrations/NNNN_name.sql,
 * compiled into the binary by scripts/embed_sql.py. Table notifd_schema
 * records each one applied. Every migration runs in its own transaction
 * holding a transaction-scoped advisory lock, so notifd processes starting
 * together on one database apply each migration once, one after the other;
 * the version is read again under the lock. A database that has a newer
 * version than this build knows is refused. */
#include "store/postgres/pg.h"

#include <stdio.h>

/* The advisory lock key: "notifd" in ASCII. */
#define SCHEMA_LOCK "121445838234212"

static enum nd_err run(struct pg_conn *c, const char *sql, PGresult **out, struct nd_error *err)
{
	PGresult *r = pg_exec_text(c, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return pg_fail(c, r, "migrate schema", err);
	if (out)
		*out = r;
	else
		PQclear(r);
	return ND_OK;
}

static enum nd_err record(struct pg_conn *c, const struct pg_migration *m, struct nd_error *err)
{
	char version[16];
	snprintf(version, sizeof version, "%d", m->version);
	const char *values[] = {version, m->name};
	PGresult *r = PQexecParams(
		c->pg, "INSERT INTO notifd_schema (version, name) VALUES ($1::integer, $2)", 2,
		NULL, values, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pg_fail(c, r, "record schema version", err);
	PQclear(r);
	return ND_OK;
}

/* Applies the next migration, if any, in one transaction; *@done when the
 * schema is current. */
static enum nd_err step(struct pg_conn *c, bool *done, struct nd_error *err)
{
	PGresult *r = NULL;
	enum nd_err e = run(c, "BEGIN", NULL, err);
	if (!e)
		e = run(c, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", NULL, err);
	if (!e)
		e = run(c,
			"CREATE TABLE IF NOT EXISTS notifd_schema ("
			" version integer PRIMARY KEY,"
			" name text NOT NULL,"
			" applied_at timestamptz NOT NULL DEFAULT now())",
			NULL, err);
	if (!e)
		e = run(c, "SELECT coalesce(max(version), 0) FROM notifd_schema", &r, err);
	if (e)
		return e;
	int version = (int)pg_int(r, 0, 0);
	PQclear(r);
	if (version > pg_nmigrations) {
		c->store->schema_found = version;
		return nd_fail(err, ND_ERR_CONFLICT, NULL,
			       "the database schema is newer than notifd");
	}
	if (version == pg_nmigrations) {
		*done = true;
		return run(c, "COMMIT", NULL, err);
	}
	const struct pg_migration *m = &pg_migrations[version];
	e = run(c, m->sql, NULL, err);
	if (!e)
		e = record(c, m, err);
	if (!e)
		e = run(c, "COMMIT", NULL, err);
	return e;
}

enum nd_err pg_migrate(struct pg_conn *c, struct nd_error *err)
{
	bool done = false;
	while (!done) {
		enum nd_err e = step(c, &done, err);
		if (e) {
			if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
				PQclear(PQexec(c->pg, "ROLLBACK"));
			return e;
		}
	}
	return ND_OK;
}
