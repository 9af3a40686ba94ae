"""The PostgreSQL schema is ready for distributed PostgreSQL (Citus).

PostgreSQL only. docs/scaling.md gives the DDL that distributes notifd's
tables: create_reference_table() for small tables every node copies,
create_distributed_table(..., 'tenant_id') for the rest. Read against the
catalog of a database notifd migrated, and against every statement notifd
ran (pg_stat_statements on a private server: the daemon through a mixed
load on every face, `notifd key create`, `notifd export` of that database
and `notifd import` of the export into a second one), the rule that lets
the same SQL run unchanged on a sharded cluster must hold:

- the DDL names every table of the schema, once;
- every distributed table has tenant_id, and every primary key and unique
  constraint or index on it includes tenant_id;
- every one of those statements that reads or writes a distributed table
  pins tenant_id to a value (tenant_id = $n, = ANY ($n), IN ($n, ...) in its
  conditions, or the column in the rows it inserts; the few pinned through
  a join are listed in PINNED_THROUGH_JOIN), so it routes to one shard, and
  every join between distributed tables matches tenant_id."""

import os
import re
import tempfile
import unittest

import harness
from harness import BACKEND, Daemon, ok, pg_server, populate

DOC = os.path.join(harness.REPO, "docs", "scaling.md")
REFERENCE = re.compile(r"create_reference_table\('(\w+)'\)")
DISTRIBUTED = re.compile(r"create_distributed_table\('(\w+)',\s*'(\w+)'")
# tenant_id compared with a bound value: "tenant_id = $1", "= ANY ($1...)"
# or "IN ($1, ...)" (pg_stat_statements shows literals as $n too). A
# comparison with another column ("n.tenant_id = d.tenant_id") or a
# subquery ("IN (SELECT ...") pins nothing.
PINNED = re.compile(r"\btenant_id\s*=\s*\$\d+|\btenant_id\s*=\s*ANY\s*\(\s*\$\d+"
                    r"|\btenant_id\s+IN\s*\(\s*\$\d+", re.I)

# Statements that pin the tenant through a join with the tenants reference
# table rather than by comparing tenant_id itself with a value: PostgreSQL
# derives "c.tenant_id = $1" from "c.tenant_id = t.id AND t.id = $1" (one
# equivalence class), and Citus routes on that derived restriction. Listed
# by their exact text (as pg_stat_statements shows it, whitespace folded),
# so that any change to them is looked at again.
PINNED_THROUGH_JOIN = {
    # pg_tenant_get (src/store/postgres/tenants.c): GET /v1/tenant
    "SELECT t.name, t.time_zone, c.deliveries FROM tenants t"
    " JOIN tenant_counters c ON c.tenant_id = t.id WHERE t.id = $1",
}


def migration_statements():
    """The statements of src/store/postgres/migrations/, comments dropped and
    whitespace folded as the queries below are: DDL and one-off backfills,
    run once under the migration lock, not statements about a tenant's rows
    on a request path."""
    folder = os.path.join(harness.REPO, "src", "store", "postgres", "migrations")
    out = set()
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            text = re.sub(r"--[^\n]*", " ", f.read())
        out.update(" ".join(s.split()) for s in text.split(";"))
    return out


def doc_layout():
    with open(DOC) as f:
        text = f.read()
    return REFERENCE.findall(text), DISTRIBUTED.findall(text)


@unittest.skipUnless(BACKEND == "postgres", "the Citus layout is a PostgreSQL matter")
class TestDistributable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = harness.private_pg(cls, options="-c shared_preload_libraries=pg_stat_statements"
                                                  " -c pg_stat_statements.track=all")
        cls.tmp = tempfile.TemporaryDirectory(prefix="nd_schema_")
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.db = cls.srv.create_database("nd_citus")
        cls.dbname = pg_server.conninfo_dbname(cls.db)
        cls.srv.psql("CREATE EXTENSION pg_stat_statements", dbname=cls.dbname)
        # The daemon under a mixed load, then `notifd export` of its database
        # and `notifd import` of that file into a second one.
        d = Daemon(cls.tmp.name, db=cls.db)
        try:
            d.start()
            other = d.key_create("admin", tenant="other")
            populate(d, other)
            for path in ("/api3/notification?with=member&order=title%20DESC",
                         "/api3/notification?member_id=alice&campaign_id=spring",
                         "/api3/notification?date_started=03/02/2026&notification_type=alert",
                         "/api3/notification?date_completed=03/04/2026&order=read%20ASC",
                         "/api3/notification?id=1", "/targets/alice/notifications?sort=desc",
                         "/v1/targets/bob/notifications", "/targets/alice/segments",
                         "/v1/segments", "/v1/keys", "/v1/tenant"):
                ok(d, "GET", path, status=200)
            ok(d, "DELETE", "/v1/segments/2")
            ok(d, "DELETE", "/v1/segments/1/members/alice")
            ok(d, "DELETE", "/targets/dave/segments/1")
            ok(d, "DELETE", "/v1/targets/bob")
            rc = d.stop()
            if rc != 0:
                raise AssertionError("notifd exited %r on SIGTERM" % rc)
        finally:
            d.cleanup()
        out = os.path.join(cls.tmp.name, "x.jsonl")
        cp = harness.run_cli(["export", "--db", cls.db, out], timeout=60)
        if cp.returncode != 0:
            raise AssertionError("notifd export failed (%d): %s" % (cp.returncode, cp.stderr))
        imported = cls.srv.create_database("nd_citus_import")
        cp = harness.run_cli(["import", "--db", imported, out], timeout=60)
        if cp.returncode != 0:
            raise AssertionError("notifd import failed (%d): %s" % (cp.returncode, cp.stderr))
        cls.queries = cls.srv.psql(
            "SELECT btrim(regexp_replace(regexp_replace(query, '--[^\\n]*', ' ', 'g'),"
            " '\\s+', ' ', 'g'))"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname IN ('%s', '%s')"
            % (cls.dbname, pg_server.conninfo_dbname(imported)), dbname=cls.dbname)

    def catalog(self, sql):
        out = self.srv.psql(sql, dbname=self.dbname)
        return [line.split("|") for line in out.splitlines() if line]

    def tables(self):
        return {t for (t,) in self.catalog(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            " AND c.relname NOT LIKE 'pg_stat_statements%'")}

    def test_the_ddl_names_every_table_once(self):
        reference, distributed = doc_layout()
        self.assertTrue(reference and distributed, "no DDL found in docs/scaling.md")
        named = reference + [t for t, _ in distributed]
        self.assertEqual(len(named), len(set(named)), named)
        self.assertEqual(set(named), self.tables())
        self.assertEqual({col for _, col in distributed}, {"tenant_id"})

    def test_keys_include_the_distribution_column(self):
        _, distributed = doc_layout()
        rows = self.catalog(
            "SELECT t.relname, i.relname, array_to_string(array_agg(a.attname), ',')"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_namespace n ON n.oid = t.relnamespace"
            " LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (x.indkey)"
            " WHERE n.nspname = 'public' AND x.indisunique GROUP BY t.relname, i.relname")
        unique = {}
        for table, index, cols in rows:
            unique.setdefault(table, []).append((index, cols.split(",")))
        for table, _ in distributed:
            cols = {c for (c,) in self.catalog(
                "SELECT attname FROM pg_attribute WHERE attrelid = 'public.%s'::regclass"
                " AND attnum > 0 AND NOT attisdropped" % table)}
            self.assertIn("tenant_id", cols, table)
            self.assertTrue(unique.get(table), "%s has no primary key" % table)
            for index, icols in unique[table]:
                self.assertIn("tenant_id", icols, "%s: unique index %s is %s"
                              % (table, index, icols))

    def test_every_statement_pins_the_tenant(self):
        _, distributed = doc_layout()
        names = "|".join(t for t, _ in distributed)
        touches = re.compile(r"\b(FROM|JOIN|INTO|UPDATE)\s+(%s)\b" % names, re.I)
        reads = re.compile(r"\b(FROM|JOIN)\s+(%s)\b" % names, re.I)
        join = re.compile(r"\bJOIN\s+(%s)\b[^()]*?\bON\b(.*?)(?=\bJOIN\b|\bWHERE\b|\bORDER\b"
                          r"|\bGROUP\b|\bLIMIT\b|\)|$)" % names, re.I)
        inserts_tenant = re.compile(r"^(WITH\b.*?\)\s*)?INSERT\s+INTO\s+\w+(\s+AS\s+\w+)?"
                                    r"\s*\([^)]*\btenant_id\b", re.I | re.S)
        migrations = migration_statements()
        seen, loose = 0, []
        for q in self.queries.splitlines():
            q = q.strip()
            if not q or not touches.search(q):
                continue
            # Not statements about tenants' rows: the schema migration (DDL,
            # and its bookkeeping in the notifd_schema reference table), and
            # this test's own pg_stat_statements queries.
            if re.match(r"(CREATE|ALTER|DROP)\b", q, re.I) or "notifd_schema" in q \
                    or "pg_stat_statements" in q or q in migrations:
                continue
            seen += 1
            if q in PINNED_THROUGH_JOIN:
                continue
            # An INSERT names the tenant in the rows it writes; when it also
            # reads a distributed table (INSERT .. SELECT), that read must
            # pin the tenant like any other.
            if inserts_tenant.match(q) and not reads.search(q):
                continue
            if not PINNED.search(q):
                loose.append(q)
                continue
            # A join between distributed tables is colocated only when it
            # matches tenant_id too.
            for m in join.finditer(q):
                if "tenant_id" not in m.group(2):
                    loose.append("join on %s without tenant_id: %s" % (m.group(1), q))
        self.assertGreater(seen, 20, "too few statements seen: the load did not run?")
        self.assertEqual(loose, [], "statements that do not pin tenant_id:\n" + "\n".join(loose))


if __name__ == "__main__":
    harness.main()
