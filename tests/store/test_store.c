/* test_store.c - the store conformance suite: every behaviour store.h
 * promises, checked through nd_store_* alone. One source, built once and run
 * against each backend (NOTIFD_TEST_BACKEND, see fixture.h) with a fresh
 * database per test. SQLite-only checks live in test_store_sqlite.c. */
#include "fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/time.h"

/* --- open --- */

/* Whatever the backend, an unusable location fails cleanly, naming it and
 * never its password, and leaves the out-parameter alone. */
static void test_open_unusable(void **state)
{
	(void)state;
	struct fx_unusable u[FX_CASES_MAX];
	size_t n = fx_unusable_uris(u, FX_CASES_MAX);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++)
		fx_open_fails(u[i].uri, u[i].names[0], u[i].names[1][0] ? u[i].names[1] : NULL,
			      u[i].secret, NULL);
}

/* A database that cannot be reached now is either refused at open, like an
 * unusable one, or opened with each connection reporting ND_ERR_BUSY until
 * it can be reached (store.h allows both); neither shows the password. */
static void test_open_unreachable(void **state)
{
	(void)state;
	struct fx_unusable u[FX_CASES_MAX];
	size_t n = fx_unreachable_uris(u, FX_CASES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct nd_store *s = NULL;
		struct nd_error err = {0};
		if (nd_store_open(u[i].uri, NULL, &s, &err) != ND_OK) {
			fx_open_fails(u[i].uri, u[i].names[0],
				      u[i].names[1][0] ? u[i].names[1] : NULL, u[i].secret, NULL);
			continue;
		}
		printf("%s: opened; its connections report busy\n", u[i].names[0]);
		struct nd_store_conn *c;
		FAILS(ND_ERR_BUSY, nd_store_conn(s, &c, &E));
		if (u[i].secret && strstr(E.detail, u[i].secret))
			fail_msg("detail \"%s\" shows the password", E.detail);
		nd_store_free(s);
	}
}

/* An open failure is a store error too: it names no field. */
static void test_open_error_names_no_field(void **state)
{
	(void)state;
	struct fx_unusable u[FX_CASES_MAX];
	size_t n = fx_unusable_uris(u, FX_CASES_MAX);
	for (size_t i = 0; i < n; i++) {
		struct nd_error err;
		fx_open_fails(u[i].uri, "", NULL, NULL, &err);
		fx_check_error(&err, err.code, u[i].uri);
	}
}

/* Logs and messages show a database setting without its password. */
static void test_open_ping(void **state)
{
	struct fx *f = *state;
	assert_string_equal(nd_store_backend(f->s), fx_backend_name());
	assert_int_equal(nd_store_is_postgres(f->uri), fx_backend() == FX_POSTGRES);
	OK(nd_store_ping(f->c, &E));
	assert_false(nd_store_abandon_tx(f->c));
	struct nd_store_conn *c2;
	OK(nd_store_conn(f->s, &c2, &E));
	assert_ptr_equal(c2, f->c); /* same thread, same connection */
}

static void *thread_conn(void *arg)
{
	struct fx *f = arg;
	struct nd_store_conn *c = NULL;
	struct nd_error err = {0};
	if (nd_store_conn(f->s, &c, &err) != ND_OK || c == f->c)
		return NULL;
	if (nd_store_ping(c, &err) != ND_OK)
		return NULL;
	return c;
}

static void test_conn_per_thread(void **state)
{
	struct fx *f = *state;
	pthread_t th;
	void *ret = NULL;
	assert_int_equal(pthread_create(&th, NULL, thread_conn, f), 0);
	assert_int_equal(pthread_join(th, &ret), 0);
	assert_non_null(ret);
	assert_ptr_not_equal(ret, f->c);
}

/* --- tenants --- */

static void test_tenant_ensure(void **state)
{
	struct fx *f = *state;
	int64_t a = 0, b = 0, c = 0;
	OK(nd_store_tenant_ensure(f->c, "default", &a, &E));
	OK(nd_store_tenant_ensure(f->c, "default", &b, &E));
	assert_int_equal(a, f->t);
	assert_int_equal(b, f->t);
	OK(nd_store_tenant_ensure(f->c, "other", &c, &E));
	assert_int_equal(c, f->t2);
	assert_int_not_equal(f->t, f->t2);
	int64_t d = 0;
	OK(nd_store_tenant_ensure(f->c, "third", &d, &E));
	assert_int_not_equal(d, f->t);
	assert_int_not_equal(d, f->t2);
	int64_t d2 = 0;
	OK(nd_store_tenant_ensure(f->c, "third", &d2, &E));
	assert_int_equal(d, d2);
}

static void test_tenant_find(void **state)
{
	struct fx *f = *state;
	int64_t id = -1;
	OK(nd_store_tenant_find(f->c, "default", &id, &E));
	assert_int_equal(id, f->t);
	OK(nd_store_tenant_find(f->c, "other", &id, &E));
	assert_int_equal(id, f->t2);
	/* Finding does not create. */
	id = -1;
	FAILS(ND_ERR_NOT_FOUND, nd_store_tenant_find(f->c, "ghost", &id, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_tenant_find(f->c, "ghost", &id, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_tenant_find(f->c, "", &id, &E));
	assert_int_equal(id, -1);
	int64_t g = 0;
	OK(nd_store_tenant_ensure(f->c, "ghost", &g, &E));
	assert_int_not_equal(g, f->t);
	assert_int_not_equal(g, f->t2);
	OK(nd_store_tenant_find(f->c, "ghost", &id, &E));
	assert_int_equal(id, g);
}

struct tenant_copy {
	int calls;
	char name[64], zone[ND_ZONE_MAX];
	int64_t deliveries;
};

static int tenant_cb(void *arg, const struct nd_tenant *row)
{
	struct tenant_copy *c = arg;
	c->calls++;
	snprintf(c->name, sizeof c->name, "%s", row->name);
	snprintf(c->zone, sizeof c->zone, "%s", row->time_zone);
	c->deliveries = row->deliveries;
	return 0;
}

static int stop_tenant_cb(void *arg, const struct nd_tenant *row)
{
	(void)arg;
	(void)row;
	return 44;
}

static int64_t tenant_deliveries(struct nd_store_conn *c, int64_t tenant)
{
	struct tenant_copy g = {0};
	OK(nd_store_tenant_get(c, tenant, tenant_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	return g.deliveries;
}

static void test_tenant_get_zone(void **state)
{
	struct fx *f = *state;
	struct tenant_copy g = {0};
	OK(nd_store_tenant_get(f->c, f->t, tenant_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.name, "default");
	assert_string_equal(g.zone, ND_DEFAULT_ZONE);
	assert_int_equal(g.deliveries, 0);
	FAILS(ND_ERR_NOT_FOUND, nd_store_tenant_get(f->c, f->t2 + 1000, tenant_cb, &g, &E));

	OK(nd_store_tenant_set_zone(f->c, f->t, "Europe/Paris", &E));
	memset(&g, 0, sizeof g);
	OK(nd_store_tenant_get(f->c, f->t, tenant_cb, &g, &E));
	assert_string_equal(g.zone, "Europe/Paris");
	memset(&g, 0, sizeof g);
	OK(nd_store_tenant_get(f->c, f->t2, tenant_cb, &g, &E));
	assert_string_equal(g.name, "other");
	assert_string_equal(g.zone, ND_DEFAULT_ZONE);

	/* A key's principal carries its tenant's zone. */
	unsigned char h[ND_KEY_HASH_LEN];
	fx_hash("zone-key-0123456789", h);
	OK(nd_store_key_put(f->c, f->t, h, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	struct nd_principal p;
	OK(nd_store_key_auth(f->c, h, &p, &E));
	assert_string_equal(p.time_zone, "Europe/Paris");

	/* The live delivery counter. */
	static const char *const tg[] = {"a", "b", "a"};
	struct nd_notification n = fx_notif("x");
	struct nd_recipients to = {tg, 3, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	int64_t d;
	OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	assert_int_equal(tenant_deliveries(f->c, f->t), 2);
	assert_int_equal(tenant_deliveries(f->c, f->t2), 0);
	OK(nd_store_target_delete(f->c, f->t, "a", &E));
	assert_int_equal(tenant_deliveries(f->c, f->t), 1);

	/* A callback's non-zero return is returned. */
	assert_int_equal(nd_store_tenant_get(f->c, f->t, stop_tenant_cb, NULL, &E), 44);
}

/* --- keys --- */

#define MAX_ROWS 64

struct key_rows {
	size_t n;
	char id[MAX_ROWS][ND_KEY_ID_LEN + 1];
	enum nd_role role[MAX_ROWS];
	char target[MAX_ROWS][ND_ID_MAX + 1];
	bool has_target[MAX_ROWS];
	int64_t created_at[MAX_ROWS], revoked_at[MAX_ROWS];
	int stop_at; /* return 77 at this row (1-based); 0 = never */
};

static int key_cb(void *arg, const struct nd_key_row *row)
{
	struct key_rows *k = arg;
	if (k->n >= MAX_ROWS)
		return 1;
	size_t i = k->n++;
	snprintf(k->id[i], sizeof k->id[i], "%s", row->id);
	k->role[i] = row->role;
	k->has_target[i] = row->target != NULL;
	snprintf(k->target[i], sizeof k->target[i], "%s", row->target ? row->target : "");
	k->created_at[i] = row->created_at;
	k->revoked_at[i] = row->revoked_at;
	return k->stop_at && (int)k->n == k->stop_at ? 77 : 0;
}

static size_t key_find(const struct key_rows *k, const char *id)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->id[i], id) == 0)
			return i;
	fail_msg("key %s not listed", id);
	return 0;
}

static void test_keys(void **state)
{
	struct fx *f = *state;
	unsigned char ha[ND_KEY_HASH_LEN], hm[ND_KEY_HASH_LEN], hx[ND_KEY_HASH_LEN];
	char ida[ND_KEY_ID_LEN + 1], idm[ND_KEY_ID_LEN + 1];
	fx_hash("admin-key-0123456789", ha);
	fx_hash("member-key-0123456789", hm);
	fx_hash("unknown-key-0123456789", hx);
	nd_key_id(ha, ida);
	nd_key_id(hm, idm);
	int64_t before = nd_time_now_ms();

	OK(nd_store_key_put(f->c, f->t, hm, ND_ROLE_MEMBER, "user-1", KEY_TIME + 5, false, &E));
	OK(nd_store_key_put(f->c, f->t, ha, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));

	struct nd_principal p;
	memset(&p, 0x5A, sizeof p);
	OK(nd_store_key_auth(f->c, ha, &p, &E));
	assert_int_equal(p.tenant_id, f->t);
	assert_int_equal(p.role, ND_ROLE_ADMIN);
	assert_string_equal(p.key_id, ida);
	assert_string_equal(p.target, "");

	memset(&p, 0x5A, sizeof p);
	OK(nd_store_key_auth(f->c, hm, &p, &E));
	assert_int_equal(p.tenant_id, f->t);
	assert_int_equal(p.role, ND_ROLE_MEMBER);
	assert_string_equal(p.key_id, idm);
	assert_string_equal(p.target, "user-1");

	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, hx, &p, &E));

	/* The same hash again is refused without reinstate, in any tenant or role. */
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t, ha, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t2, ha, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t, ha, ND_ROLE_MEMBER, "u", KEY_TIME, false, &E));

	struct key_rows k = {0};
	OK(nd_store_key_list(f->c, f->t, key_cb, &k, &E));
	assert_int_equal(k.n, 2);
	size_t ia = key_find(&k, ida), im = key_find(&k, idm);
	assert_int_equal(k.role[ia], ND_ROLE_ADMIN);
	assert_false(k.has_target[ia]);
	assert_int_equal(k.role[im], ND_ROLE_MEMBER);
	assert_true(k.has_target[im]);
	assert_string_equal(k.target[im], "user-1");
	assert_int_equal(k.revoked_at[ia], ND_NO_TIME);
	assert_int_equal(k.revoked_at[im], ND_NO_TIME);
	assert_int_equal(k.created_at[ia], KEY_TIME);
	assert_int_equal(k.created_at[im], KEY_TIME + 5);
	/* Listed by creation time. */
	assert_int_equal(ia, 0);
	assert_int_equal(im, 1);

	/* Another tenant sees none of them. */
	struct key_rows k2 = {0};
	OK(nd_store_key_list(f->c, f->t2, key_cb, &k2, &E));
	assert_int_equal(k2.n, 0);

	/* A callback's non-zero return stops the listing and is returned. */
	struct key_rows k3 = {.stop_at = 1};
	assert_int_equal(nd_store_key_list(f->c, f->t, key_cb, &k3, &E), 77);
	assert_int_equal(k3.n, 1);

	/* Revoke. */
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_revoke(f->c, f->t2, ida, &E)); /* other tenant */
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_revoke(f->c, f->t, "0000000000000000", &E));
	OK(nd_store_key_auth(f->c, ha, &p, &E)); /* still valid */
	OK(nd_store_key_revoke(f->c, f->t, ida, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, ha, &p, &E));
	OK(nd_store_key_auth(f->c, hm, &p, &E)); /* the other key is unaffected */

	memset(&k, 0, sizeof k);
	OK(nd_store_key_list(f->c, f->t, key_cb, &k, &E));
	assert_int_equal(k.n, 2);
	ia = key_find(&k, ida);
	int64_t revoked = k.revoked_at[ia];
	assert_int_not_equal(revoked, ND_NO_TIME);
	assert_in_range(revoked, before - 1000, nd_time_now_ms() + 1000);

	/* Revoking twice is fine and keeps the first time. */
	fx_sleep_ms(5);
	OK(nd_store_key_revoke(f->c, f->t, ida, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, ha, &p, &E));
	memset(&k, 0, sizeof k);
	OK(nd_store_key_list(f->c, f->t, key_cb, &k, &E));
	assert_int_equal(k.revoked_at[key_find(&k, ida)], revoked);

	/* Ensuring a revoked key never brings it back; for another tenant or
	 * role it is a conflict, as before. */
	FAILS(ND_ERR_FORBIDDEN,
	      nd_store_key_put(f->c, f->t, ha, ND_ROLE_ADMIN, NULL, KEY_TIME, true, &E));
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t2, ha, ND_ROLE_ADMIN, NULL, KEY_TIME, true, &E));
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t, ha, ND_ROLE_MEMBER, "user-1", KEY_TIME, true, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, ha, &p, &E));
	memset(&k, 0, sizeof k);
	OK(nd_store_key_list(f->c, f->t, key_cb, &k, &E));
	assert_int_equal(k.n, 2);
	assert_int_equal(k.revoked_at[key_find(&k, ida)], revoked);
	/* Ensuring a brand-new key inserts it; ensuring it again while it is
	 * valid is a success that changes nothing. */
	OK(nd_store_key_put(f->c, f->t2, hx, ND_ROLE_ADMIN, NULL, KEY_TIME, true, &E));
	OK(nd_store_key_put(f->c, f->t2, hx, ND_ROLE_ADMIN, NULL, KEY_TIME + 9, true, &E));
	OK(nd_store_key_auth(f->c, hx, &p, &E));
	assert_int_equal(p.tenant_id, f->t2);
	FAILS(ND_ERR_CONFLICT,
	      nd_store_key_put(f->c, f->t2, hx, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
}

/* --- targets --- */

struct target_copy {
	int calls;
	char id[ND_ID_MAX + 1];
	char name[64], email[64], profile[64], attributes[256];
	bool has_name, has_email, has_profile;
	int64_t created_at, updated_at;
};

static int target_cb(void *arg, const struct nd_target *t)
{
	struct target_copy *c = arg;
	c->calls++;
	snprintf(c->id, sizeof c->id, "%s", t->id);
	c->has_name = t->name != NULL;
	c->has_email = t->email != NULL;
	c->has_profile = t->profile != NULL;
	snprintf(c->name, sizeof c->name, "%s", t->name ? t->name : "");
	snprintf(c->email, sizeof c->email, "%s", t->email ? t->email : "");
	snprintf(c->profile, sizeof c->profile, "%s", t->profile ? t->profile : "");
	snprintf(c->attributes, sizeof c->attributes, "%s",
		 t->attributes ? t->attributes : "(null)");
	c->created_at = t->created_at;
	c->updated_at = t->updated_at;
	return 0;
}

static void test_targets(void **state)
{
	struct fx *f = *state;
	int64_t before = nd_time_now_ms();
	struct nd_target t = {.id = "user-1",
			      .name = "Ada",
			      .email = "ada@example.com",
			      .profile = NULL,
			      .attributes = "{\"plan\":\"pro\"}"};
	bool created = false;
	OK(nd_store_target_put(f->c, f->t, &t, &created, &E));
	assert_true(created);
	assert_in_range(t.created_at, before, nd_time_now_ms());
	assert_int_equal(t.updated_at, t.created_at);
	int64_t first_created = t.created_at;

	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "user-1", target_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.id, "user-1");
	assert_string_equal(g.name, "Ada");
	assert_string_equal(g.email, "ada@example.com");
	assert_false(g.has_profile);
	assert_string_equal(g.attributes, "{\"plan\":\"pro\"}");
	assert_int_equal(g.created_at, first_created);
	assert_int_equal(g.updated_at, first_created);

	/* Replace: created_at kept, fields replaced, unset fields cleared. */
	fx_sleep_ms(10);
	struct nd_target t2 = {
	    .id = "user-1", .name = NULL, .email = NULL, .profile = "vip", .attributes = NULL};
	created = true;
	OK(nd_store_target_put(f->c, f->t, &t2, &created, &E));
	assert_false(created);
	assert_int_equal(t2.created_at, first_created);
	assert_true(t2.updated_at > first_created);
	memset(&g, 0, sizeof g);
	OK(nd_store_target_get(f->c, f->t, "user-1", target_cb, &g, &E));
	assert_false(g.has_name);
	assert_false(g.has_email);
	assert_string_equal(g.profile, "vip");
	assert_string_equal(g.attributes, "{}");
	assert_int_equal(g.created_at, first_created);
	assert_int_equal(g.updated_at, t2.updated_at);

	/* Tenants are separate. */
	memset(&g, 0, sizeof g);
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t2, "user-1", target_cb, &g, &E));
	assert_int_equal(g.calls, 0);
	struct nd_target t3 = {.id = "user-1", .name = "Other tenant's"};
	OK(nd_store_target_put(f->c, f->t2, &t3, &created, &E));
	assert_true(created);
	memset(&g, 0, sizeof g);
	OK(nd_store_target_get(f->c, f->t, "user-1", target_cb, &g, &E));
	assert_false(g.has_name);

	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "nobody", target_cb, &g, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "USER-1", target_cb, &g, &E));

	/* Delete. */
	OK(nd_store_target_delete(f->c, f->t, "user-1", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "user-1", target_cb, &g, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_delete(f->c, f->t, "user-1", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_delete(f->c, f->t, "never-existed", &E));
	/* The other tenant's target of the same id survives. */
	memset(&g, 0, sizeof g);
	OK(nd_store_target_get(f->c, f->t2, "user-1", target_cb, &g, &E));
	assert_string_equal(g.name, "Other tenant's");

	/* Put after delete creates anew. */
	struct nd_target t4 = {.id = "user-1"};
	OK(nd_store_target_put(f->c, f->t, &t4, &created, &E));
	assert_true(created);
	assert_true(t4.created_at > first_created);
}

/* --- segments and members --- */

struct seg_rows {
	size_t n;
	int32_t id[MAX_ROWS];
	char name[MAX_ROWS][64];
	int64_t members[MAX_ROWS];
};

static int seg_cb(void *arg, const struct nd_segment *s)
{
	struct seg_rows *r = arg;
	if (r->n >= MAX_ROWS)
		return 1;
	r->id[r->n] = s->id;
	snprintf(r->name[r->n], sizeof r->name[r->n], "%s", s->name);
	r->members[r->n] = s->members;
	r->n++;
	return 0;
}

static int64_t seg_members(struct fx *f, int64_t tenant, int32_t id)
{
	struct seg_rows r = {0};
	OK(nd_store_segment_get(f->c, tenant, id, seg_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], id);
	return r.members[0];
}

static void test_segments(void **state)
{
	struct fx *f = *state;
	int32_t a = 0, b = 0, c = 0, x = 0;
	OK(nd_store_segment_create(f->c, f->t, "alpha", &a, &E));
	OK(nd_store_segment_create(f->c, f->t, "beta", &b, &E));
	OK(nd_store_segment_create(f->c, f->t, "gamma", &c, &E));
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	OK(nd_store_segment_create(f->c, f->t2, "other-first", &x, &E));
	assert_int_equal(x, 1);

	struct seg_rows r = {0};
	OK(nd_store_segment_list(f->c, f->t, seg_cb, &r, &E));
	assert_int_equal(r.n, 3);
	assert_int_equal(r.id[0], 1);
	assert_string_equal(r.name[0], "alpha");
	assert_int_equal(r.id[1], 2);
	assert_string_equal(r.name[1], "beta");
	assert_int_equal(r.id[2], 3);
	assert_string_equal(r.name[2], "gamma");
	assert_int_equal(r.members[0], 0);

	memset(&r, 0, sizeof r);
	OK(nd_store_segment_list(f->c, f->t2, seg_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.name[0], "other-first");

	memset(&r, 0, sizeof r);
	OK(nd_store_segment_get(f->c, f->t, 2, seg_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_string_equal(r.name[0], "beta");
	memset(&r, 0, sizeof r);
	OK(nd_store_segment_get(f->c, f->t2, 1, seg_cb, &r, &E));
	assert_string_equal(r.name[0], "other-first");

	memset(&r, 0, sizeof r);
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t, 99, seg_cb, &r, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t2, 2, seg_cb, &r, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t, 0, seg_cb, &r, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t, -1, seg_cb, &r, &E));
	assert_int_equal(r.n, 0);

	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_delete(f->c, f->t2, 2, &E));
	OK(nd_store_segment_delete(f->c, f->t, 2, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t, 2, seg_cb, &r, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_segment_delete(f->c, f->t, 2, &E));
	memset(&r, 0, sizeof r);
	OK(nd_store_segment_list(f->c, f->t, seg_cb, &r, &E));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], 1);
	assert_int_equal(r.id[1], 3);
	/* The other tenant's segment 1 is untouched by any of this. */
	memset(&r, 0, sizeof r);
	OK(nd_store_segment_list(f->c, f->t2, seg_cb, &r, &E));
	assert_int_equal(r.n, 1);
}

static void test_members(void **state)
{
	struct fx *f = *state;
	int32_t s1, s2, o1;
	OK(nd_store_segment_create(f->c, f->t, "s1", &s1, &E));
	OK(nd_store_segment_create(f->c, f->t, "s2", &s2, &E));
	OK(nd_store_segment_create(f->c, f->t2, "o1", &o1, &E));
	assert_int_equal(s1, 1);
	assert_int_equal(o1, 1);

	OK(nd_store_member_put(f->c, f->t, s1, "u1", &E));
	assert_int_equal(seg_members(f, f->t, s1), 1);
	OK(nd_store_member_put(f->c, f->t, s1, "u1", &E)); /* idempotent */
	assert_int_equal(seg_members(f, f->t, s1), 1);
	OK(nd_store_member_put(f->c, f->t, s1, "u2", &E));
	assert_int_equal(seg_members(f, f->t, s1), 2);
	OK(nd_store_member_put(f->c, f->t, s2, "u1", &E));
	assert_int_equal(seg_members(f, f->t, s2), 1);
	/* Same segment id in the other tenant is a different segment. */
	assert_int_equal(seg_members(f, f->t2, o1), 0);
	OK(nd_store_member_put(f->c, f->t2, o1, "u1", &E));
	assert_int_equal(seg_members(f, f->t2, o1), 1);
	assert_int_equal(seg_members(f, f->t, s1), 2);

	/* member_put creates the target. */
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "u2", target_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.attributes, "{}");

	FAILS(ND_ERR_NOT_FOUND, nd_store_member_put(f->c, f->t, 99, "u1", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_member_put(f->c, f->t2, s2, "u9", &E)); /* t2 has no 2 */
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t2, "u9", target_cb, &g, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_member_delete(f->c, f->t, 99, "u1", &E));

	OK(nd_store_member_delete(f->c, f->t, s1, "u1", &E));
	assert_int_equal(seg_members(f, f->t, s1), 1);
	OK(nd_store_member_delete(f->c, f->t, s1, "u1", &E)); /* idempotent */
	assert_int_equal(seg_members(f, f->t, s1), 1);
	OK(nd_store_member_delete(f->c, f->t, s1, "nobody", &E));
	assert_int_equal(seg_members(f, f->t, s1), 1);
	/* Removing from one segment leaves the others. */
	assert_int_equal(seg_members(f, f->t, s2), 1);
	assert_int_equal(seg_members(f, f->t2, o1), 1);
	/* The target itself stays. */
	OK(nd_store_target_get(f->c, f->t, "u1", target_cb, &g, &E));

	/* Deleting a target removes its memberships. */
	OK(nd_store_member_put(f->c, f->t, s1, "u1", &E));
	assert_int_equal(seg_members(f, f->t, s1), 2);
	OK(nd_store_target_delete(f->c, f->t, "u1", &E));
	assert_int_equal(seg_members(f, f->t, s1), 1);
	assert_int_equal(seg_members(f, f->t, s2), 0);
	assert_int_equal(seg_members(f, f->t2, o1), 1); /* other tenant's u1 */
	/* Re-creating the target does not bring the memberships back. */
	struct nd_target t = {.id = "u1"};
	bool created;
	OK(nd_store_target_put(f->c, f->t, &t, &created, &E));
	assert_true(created);
	assert_int_equal(seg_members(f, f->t, s2), 0);

	/* Deleting a segment drops its memberships. */
	OK(nd_store_segment_delete(f->c, f->t, s1, &E));
	int32_t s3;
	OK(nd_store_segment_create(f->c, f->t, "s3", &s3, &E));
	assert_int_equal(seg_members(f, f->t, s3), 0);
}

struct seg_ids {
	size_t n;
	int32_t id[MAX_ROWS];
	size_t stop_at;
};

static int seg_id_cb(void *arg, int32_t id)
{
	struct seg_ids *r = arg;
	if (r->n >= MAX_ROWS)
		return 1;
	r->id[r->n++] = id;
	return r->stop_at && r->n == r->stop_at ? 66 : 0;
}

static void test_target_segments(void **state)
{
	struct fx *f = *state;
	int32_t s1, s2, s3, o1;
	OK(nd_store_segment_create(f->c, f->t, "s1", &s1, &E));
	OK(nd_store_segment_create(f->c, f->t, "s2", &s2, &E));
	OK(nd_store_segment_create(f->c, f->t, "s3", &s3, &E));
	OK(nd_store_segment_create(f->c, f->t2, "o1", &o1, &E));
	OK(nd_store_member_put(f->c, f->t, s3, "u", &E));
	OK(nd_store_member_put(f->c, f->t, s1, "u", &E));
	OK(nd_store_member_put(f->c, f->t, s2, "v", &E));
	OK(nd_store_member_put(f->c, f->t2, o1, "u", &E));

	struct seg_ids r = {0};
	OK(nd_store_target_segments(f->c, f->t, "u", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.id[0], s1);
	assert_int_equal(r.id[1], s3);

	memset(&r, 0, sizeof r);
	OK(nd_store_target_segments(f->c, f->t2, "u", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], o1);

	memset(&r, 0, sizeof r);
	OK(nd_store_target_segments(f->c, f->t, "nobody", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 0);

	/* A target with no memberships belongs to none. */
	struct nd_target t = {.id = "loner"};
	bool created;
	OK(nd_store_target_put(f->c, f->t, &t, &created, &E));
	OK(nd_store_target_segments(f->c, f->t, "loner", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 0);

	/* Memberships removed or dropped with their segment disappear. */
	OK(nd_store_member_delete(f->c, f->t, s1, "u", &E));
	memset(&r, 0, sizeof r);
	OK(nd_store_target_segments(f->c, f->t, "u", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], s3);
	OK(nd_store_member_put(f->c, f->t, s2, "u", &E));
	OK(nd_store_segment_delete(f->c, f->t, s3, &E));
	memset(&r, 0, sizeof r);
	OK(nd_store_target_segments(f->c, f->t, "u", seg_id_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], s2);

	/* The callback's return stops the listing. */
	OK(nd_store_member_put(f->c, f->t, s1, "u", &E));
	memset(&r, 0, sizeof r);
	r.stop_at = 1;
	assert_int_equal(nd_store_target_segments(f->c, f->t, "u", seg_id_cb, &r, &E), 66);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.id[0], s1);
}

/* --- campaigns --- */

struct camp_copy {
	int calls;
	char id[ND_ID_MAX + 1], name[64];
	int64_t created_at, updated_at;
};

static int camp_cb(void *arg, const struct nd_campaign *cp)
{
	struct camp_copy *c = arg;
	c->calls++;
	snprintf(c->id, sizeof c->id, "%s", cp->id);
	snprintf(c->name, sizeof c->name, "%s", cp->name);
	c->created_at = cp->created_at;
	c->updated_at = cp->updated_at;
	return 0;
}

static void test_campaigns(void **state)
{
	struct fx *f = *state;
	int64_t before = nd_time_now_ms();
	struct nd_campaign cp = {.id = "spring-sale", .name = "Spring sale"};
	bool created = false;
	OK(nd_store_campaign_put(f->c, f->t, &cp, &created, &E));
	assert_true(created);
	assert_in_range(cp.created_at, before, nd_time_now_ms());
	assert_int_equal(cp.updated_at, cp.created_at);

	struct camp_copy g = {0};
	OK(nd_store_campaign_get(f->c, f->t, "spring-sale", camp_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.id, "spring-sale");
	assert_string_equal(g.name, "Spring sale");
	assert_int_equal(g.created_at, cp.created_at);

	fx_sleep_ms(10);
	struct nd_campaign cp2 = {.id = "spring-sale", .name = "Spring sale 2"};
	created = true;
	OK(nd_store_campaign_put(f->c, f->t, &cp2, &created, &E));
	assert_false(created);
	assert_int_equal(cp2.created_at, cp.created_at);
	assert_true(cp2.updated_at > cp.created_at);
	memset(&g, 0, sizeof g);
	OK(nd_store_campaign_get(f->c, f->t, "spring-sale", camp_cb, &g, &E));
	assert_string_equal(g.name, "Spring sale 2");
	assert_int_equal(g.created_at, cp.created_at);
	assert_int_equal(g.updated_at, cp2.updated_at);

	memset(&g, 0, sizeof g);
	FAILS(ND_ERR_NOT_FOUND, nd_store_campaign_get(f->c, f->t2, "spring-sale", camp_cb, &g, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_campaign_get(f->c, f->t, "nope", camp_cb, &g, &E));
	assert_int_equal(g.calls, 0);
}

/* --- notifications --- */

struct notif_copy {
	int calls;
	int32_t key;
	char guid[ND_GUID_LEN + 1];
	char libelle[64], body[64], url[64], type[64], campaign_id[64], profile[64];
	char screen_names[64], batch[64];
	bool has_body, has_url, has_type, has_campaign, has_profile, has_batch;
	int32_t action_type;
	int64_t date_started, date_due, created_at, deliveries;
};

#define CP(field)                                                                                  \
	do {                                                                                       \
		c->has_##field = n->field != NULL;                                                 \
		snprintf(c->field, sizeof c->field, "%s", n->field ? n->field : "");               \
	} while (0)

static int notif_cb(void *arg, const struct nd_notification *n)
{
	struct notif_copy *c = arg;
	c->calls++;
	c->key = n->key;
	memcpy(c->guid, n->guid, sizeof c->guid);
	snprintf(c->libelle, sizeof c->libelle, "%s", n->libelle);
	CP(body);
	CP(url);
	CP(type);
	CP(profile);
	CP(batch);
	c->has_campaign = n->campaign_id != NULL;
	snprintf(c->campaign_id, sizeof c->campaign_id, "%s", n->campaign_id ? n->campaign_id : "");
	snprintf(c->screen_names, sizeof c->screen_names, "%s",
		 n->screen_names ? n->screen_names : "(null)");
	c->action_type = n->action_type;
	c->date_started = n->date_started;
	c->date_due = n->date_due;
	c->created_at = n->created_at;
	c->deliveries = n->deliveries;
	return 0;
}

static int64_t deliveries_of(struct fx *f, int64_t tenant, int32_t key)
{
	struct notif_copy c = {0};
	OK(nd_store_notification_get(f->c, tenant, key, notif_cb, &c, &E));
	assert_int_equal(c.calls, 1);
	return c.deliveries;
}

static int32_t send_to(struct fx *f, int64_t tenant, const char *const *targets, size_t nt,
		       const int32_t *segs, size_t ns, int64_t routed_at, int64_t *ndeliv)
{
	struct nd_notification n = fx_notif("hello");
	struct nd_recipients to = {targets, nt, segs, ns};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	int64_t d = -1;
	n.date_started = routed_at;
	OK(nd_store_notification_create(f->c, tenant, &n, &to, &d, &miss, &E));
	if (ndeliv)
		*ndeliv = d;
	return n.key;
}

static void test_notification_create(void **state)
{
	struct fx *f = *state;
	int64_t before = nd_time_now_ms();
	static const char *const tg[] = {"a", "b", "a", "b", "a"};
	struct nd_notification n = fx_notif("Hello");
	n.body = "Body text";
	n.url = "https://example.com/x";
	n.type = "info";
	n.action_type = 3;
	n.profile = "vip";
	n.screen_names = "[\"home\",\"inbox\"]";
	n.batch = "batch-7";
	n.date_started = 1566656122000;
	n.date_due = 1566656122250;
	struct nd_recipients to = {tg, 5, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	int64_t d = -1;
	OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	assert_int_equal(d, 2); /* a and b once each */
	assert_int_equal(n.key, 1);
	assert_int_equal(strlen(n.guid), ND_GUID_LEN);
	unsigned char bin[16];
	assert_true(nd_guid_parse(n.guid, bin));
	char up[ND_GUID_LEN + 1];
	nd_guid_format(bin, up);
	assert_string_equal(n.guid, up); /* upper-case */
	assert_in_range(n.created_at, before, nd_time_now_ms());

	struct notif_copy c = {0};
	OK(nd_store_notification_get(f->c, f->t, 1, notif_cb, &c, &E));
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.key, 1);
	assert_string_equal(c.guid, n.guid);
	assert_string_equal(c.libelle, "Hello");
	assert_string_equal(c.body, "Body text");
	assert_string_equal(c.url, "https://example.com/x");
	assert_string_equal(c.type, "info");
	assert_int_equal(c.action_type, 3);
	assert_false(c.has_campaign);
	assert_string_equal(c.profile, "vip");
	assert_string_equal(c.screen_names, "[\"home\",\"inbox\"]");
	assert_string_equal(c.batch, "batch-7");
	assert_int_equal(c.date_started, 1566656122000);
	assert_int_equal(c.date_due, 1566656122250);
	assert_int_equal(c.created_at, n.created_at);
	assert_int_equal(c.deliveries, 2);

	/* Unknown targets were created. */
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "a", target_cb, &g, &E));
	OK(nd_store_target_get(f->c, f->t, "b", target_cb, &g, &E));

	/* Defaults of a minimal notification. */
	int32_t k2 = send_to(f, f->t, NULL, 0, NULL, 0, 1000, &d);
	assert_int_equal(k2, 2);
	assert_int_equal(d, 0);
	memset(&c, 0, sizeof c);
	OK(nd_store_notification_get(f->c, f->t, 2, notif_cb, &c, &E));
	assert_string_equal(c.libelle, "hello");
	assert_false(c.has_body);
	assert_false(c.has_url);
	assert_false(c.has_type);
	assert_false(c.has_profile);
	assert_false(c.has_batch);
	assert_false(c.has_campaign);
	assert_string_equal(c.screen_names, "[]");
	assert_int_equal(c.action_type, 0);
	assert_int_equal(c.date_started, 1000); /* the routing time it was given */
	assert_int_equal(c.date_due, ND_NO_TIME);
	assert_int_equal(c.deliveries, 0);
	assert_string_not_equal(c.guid, n.guid);

	FAILS(ND_ERR_NOT_FOUND, nd_store_notification_get(f->c, f->t, 3, notif_cb, &c, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_notification_get(f->c, f->t, 0, notif_cb, &c, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_notification_get(f->c, f->t2, 1, notif_cb, &c, &E));

	/* Keys are per tenant. */
	assert_int_equal(send_to(f, f->t2, tg, 1, NULL, 0, 1000, &d), 1);
	assert_int_equal(d, 1);
	assert_int_equal(send_to(f, f->t, tg, 1, NULL, 0, 1000, &d), 3);

	/* Known and unknown targets together, one named twice, then known
	 * ones alone: each served once, the unknown ones created. */
	static const char *const mixed[] = {"c", "a", "d", "a", "b"};
	send_to(f, f->t, mixed, 5, NULL, 0, 2000, &d);
	assert_int_equal(d, 4);
	OK(nd_store_target_get(f->c, f->t, "c", target_cb, &g, &E));
	OK(nd_store_target_get(f->c, f->t, "d", target_cb, &g, &E));
	static const char *const known[] = {"d", "b", "c", "a"};
	int32_t k = send_to(f, f->t, known, 4, NULL, 0, 3000, &d);
	assert_int_equal(d, 4);
	memset(&c, 0, sizeof c);
	OK(nd_store_notification_get(f->c, f->t, k, notif_cb, &c, &E));
	assert_int_equal(c.deliveries, 4);
}

static void test_notification_segments(void **state)
{
	struct fx *f = *state;
	int32_t s1, s2, s3, empty;
	OK(nd_store_segment_create(f->c, f->t, "s1", &s1, &E));
	OK(nd_store_segment_create(f->c, f->t, "s2", &s2, &E));
	OK(nd_store_segment_create(f->c, f->t, "s3", &s3, &E));
	OK(nd_store_segment_create(f->c, f->t, "empty", &empty, &E));
	static const char *const m1[] = {"b", "c", "d"};
	static const char *const m2[] = {"d", "e"};
	for (size_t i = 0; i < 3; i++)
		OK(nd_store_member_put(f->c, f->t, s1, m1[i], &E));
	for (size_t i = 0; i < 2; i++)
		OK(nd_store_member_put(f->c, f->t, s2, m2[i], &E));
	OK(nd_store_member_put(f->c, f->t, s3, "z", &E));

	static const char *const tg[] = {"a", "b"};
	const int32_t segs[] = {s1, s2, s1, empty};
	int64_t d = -1;
	int32_t k = send_to(f, f->t, tg, 2, segs, 4, 5000, &d);
	assert_int_equal(k, 1);
	assert_int_equal(d, 5); /* a b c d e */
	assert_int_equal(deliveries_of(f, f->t, k), 5);

	/* Only the segment. */
	const int32_t only2[] = {s2};
	k = send_to(f, f->t, NULL, 0, only2, 1, 5000, &d);
	assert_int_equal(k, 2);
	assert_int_equal(d, 2);

	/* Another tenant's segment of the same id holds other members. */
	int32_t o1;
	OK(nd_store_segment_create(f->c, f->t2, "o1", &o1, &E));
	assert_int_equal(o1, 1);
	OK(nd_store_member_put(f->c, f->t2, o1, "x", &E));
	const int32_t one[] = {1};
	k = send_to(f, f->t2, NULL, 0, one, 1, 5000, &d);
	assert_int_equal(k, 1);
	assert_int_equal(d, 1);
	k = send_to(f, f->t, NULL, 0, one, 1, 5000, &d);
	assert_int_equal(k, 3);
	assert_int_equal(d, 3);

	/* Deleting a target drops its deliveries from the count. */
	assert_int_equal(deliveries_of(f, f->t, 1), 5);
	OK(nd_store_target_delete(f->c, f->t, "d", &E));
	assert_int_equal(deliveries_of(f, f->t, 1), 4);
	assert_int_equal(deliveries_of(f, f->t, 2), 1);
	assert_int_equal(deliveries_of(f, f->t, 3), 2);
	assert_int_equal(deliveries_of(f, f->t2, 1), 1);
}

#define ANY_SEGMENT INT32_MIN

/* Sends @n to @to and expects the missing reference @kind (for a segment:
 * @segment, or ANY_SEGMENT) and no delivery count. */
static struct nd_missing_ref refused(struct fx *f, int64_t tenant, struct nd_notification *n,
				     const struct nd_recipients *to, enum nd_ref_kind kind,
				     int32_t segment)
{
	struct nd_missing_ref miss = {ND_REF_NONE, -7};
	int64_t d = -7;
	FAILS(ND_ERR_NOT_FOUND,
	      nd_store_notification_create(f->c, tenant, n, to, &d, &miss, &E));
	assert_int_equal(miss.kind, kind);
	if (kind == ND_REF_SEGMENT && segment != ANY_SEGMENT)
		assert_int_equal(miss.segment, segment);
	assert_int_equal(d, -7);
	return miss;
}

static void test_notification_unknown_refs(void **state)
{
	struct fx *f = *state;
	int32_t s1;
	OK(nd_store_segment_create(f->c, f->t, "s1", &s1, &E));
	OK(nd_store_member_put(f->c, f->t, s1, "m", &E));
	struct nd_campaign cp = {.id = "camp", .name = "Camp"};
	bool created;
	OK(nd_store_campaign_put(f->c, f->t, &cp, &created, &E));

	int64_t d = 0;
	assert_int_equal(send_to(f, f->t, NULL, 0, NULL, 0, 1000, &d), 1);

	static const char *const tg[] = {"fresh-target"};
	/* Unknown segment (alone, or after a known one). */
	const int32_t bad[] = {s1, 42};
	struct nd_notification n = fx_notif("x");
	struct nd_recipients to = {tg, 1, bad, 2};
	refused(f, f->t, &n, &to, ND_REF_SEGMENT, 42);
	const int32_t only_bad[] = {42};
	struct nd_recipients to1 = {NULL, 0, only_bad, 1};
	refused(f, f->t, &n, &to1, ND_REF_SEGMENT, 42);
	const int32_t zero[] = {0}, negative[] = {-3};
	struct nd_recipients to0 = {tg, 1, zero, 1}, ton = {tg, 1, negative, 1};
	refused(f, f->t, &n, &to0, ND_REF_SEGMENT, 0);
	refused(f, f->t, &n, &ton, ND_REF_SEGMENT, -3);
	/* Two unknown ones: either may be reported. */
	const int32_t two_bad[] = {77, 78};
	struct nd_recipients to7 = {tg, 1, two_bad, 2};
	struct nd_missing_ref m = refused(f, f->t, &n, &to7, ND_REF_SEGMENT, ANY_SEGMENT);
	assert_true(m.segment == 77 || m.segment == 78);

	/* Another tenant's segment is unknown here. */
	int32_t o1, o2;
	OK(nd_store_segment_create(f->c, f->t2, "o1", &o1, &E));
	OK(nd_store_segment_create(f->c, f->t2, "o2", &o2, &E));
	const int32_t theirs[] = {o2};
	n = fx_notif("x");
	struct nd_recipients to2 = {NULL, 0, theirs, 1};
	refused(f, f->t, &n, &to2, ND_REF_SEGMENT, o2);

	/* Unknown campaign. */
	n = fx_notif("x");
	n.campaign_id = "no-such-campaign";
	struct nd_recipients to3 = {tg, 1, NULL, 0};
	refused(f, f->t, &n, &to3, ND_REF_CAMPAIGN, 0);

	/* Campaigns are per tenant too. */
	n = fx_notif("x");
	n.campaign_id = "camp";
	refused(f, f->t2, &n, &to3, ND_REF_CAMPAIGN, 0);

	/* Nothing was written: no target, no delivery, no key used. */
	struct target_copy g = {0};
	FAILS(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "fresh-target", target_cb, &g, &E));
	FAILS(ND_ERR_NOT_FOUND,
	      nd_store_target_get(f->c, f->t2, "fresh-target", target_cb, &g, &E));
	struct notif_copy c = {0};
	FAILS(ND_ERR_NOT_FOUND, nd_store_notification_get(f->c, f->t, 2, notif_cb, &c, &E));
	assert_int_equal(tenant_deliveries(f->c, f->t), 0);
	assert_int_equal(seg_members(f, f->t, s1), 1);

	n = fx_notif("with campaign");
	n.campaign_id = "camp";
	const int32_t good[] = {s1};
	struct nd_recipients to4 = {tg, 1, good, 1};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	OK(nd_store_notification_create(f->c, f->t, &n, &to4, &d, &miss, &E));
	assert_int_equal(n.key, 2);
	assert_int_equal(d, 2);
	memset(&c, 0, sizeof c);
	OK(nd_store_notification_get(f->c, f->t, 2, notif_cb, &c, &E));
	assert_string_equal(c.campaign_id, "camp");
	/* The other tenant's first notification still gets key 1. */
	assert_int_equal(send_to(f, f->t2, NULL, 0, NULL, 0, 1000, &d), 1);
}

/* --- feeds --- */

struct feed_rows {
	size_t n;
	int32_t key[MAX_ROWS];
	int64_t routed_at[MAX_ROWS];
	int64_t at[MAX_ROWS][ND_EV__COUNT];
	char guid[MAX_ROWS][ND_GUID_LEN + 1];
	char nguid[MAX_ROWS][ND_GUID_LEN + 1];
	char libelle[MAX_ROWS][32];
	char target[MAX_ROWS][32];
	int stop_at;
};

static int feed_cb(void *arg, const struct nd_delivery *d)
{
	struct feed_rows *r = arg;
	if (r->n >= MAX_ROWS)
		return 1;
	size_t i = r->n++;
	r->key[i] = d->n->key;
	r->routed_at[i] = d->routed_at;
	memcpy(r->at[i], d->at, sizeof d->at);
	memcpy(r->guid[i], d->guid, sizeof r->guid[i]);
	memcpy(r->nguid[i], d->n->guid, sizeof r->nguid[i]);
	snprintf(r->libelle[i], sizeof r->libelle[i], "%s", d->n->libelle);
	snprintf(r->target[i], sizeof r->target[i], "%s", d->target);
	return r->stop_at && (int)r->n == r->stop_at ? 55 : 0;
}

static struct nd_feed_query fq(const char *target, bool asc)
{
	struct nd_feed_query q = {.target = target,
				  .start = ND_NO_TIME,
				  .end = ND_NO_TIME,
				  .ascending = asc,
				  .after_at = ND_NO_TIME,
				  .after_key = 0,
				  .limit = 0};
	return q;
}

static void feed_keys(struct fx *f, const struct nd_feed_query *q, const int32_t *want, size_t n)
{
	struct feed_rows r = {0};
	OK(nd_store_feed(f->c, f->t, q, feed_cb, &r, &E));
	if (r.n != n) {
		char got[256] = "";
		for (size_t i = 0; i < r.n; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), " %d", r.key[i]);
		fail_msg("feed returned %zu rows (%s ), want %zu", r.n, got, n);
	}
	for (size_t i = 0; i < n; i++)
		if (r.key[i] != want[i])
			fail_msg("feed row %zu has key %d, want %d", i, r.key[i], want[i]);
}

#define FEED(q, ...)                                                                               \
	do {                                                                                       \
		const int32_t w_[] = {__VA_ARGS__};                                                \
		feed_keys(f, (q), w_, sizeof w_ / sizeof w_[0]);                                   \
	} while (0)
#define FEED_EMPTY(q) feed_keys(f, (q), NULL, 0)

/* Five notifications to "f": keys 1..5 routed at 1000, 2000, 2000, 3000, 2000. */
static void make_feed(struct fx *f)
{
	static const char *const tg[] = {"f"};
	static const char *const tg2[] = {"f", "g"};
	const int64_t at[] = {1000, 2000, 2000, 3000, 2000};
	for (int i = 0; i < 5; i++) {
		struct nd_notification n = fx_notif(i == 0 ? "first" : "later");
		struct nd_recipients to = {i == 2 ? tg2 : tg, i == 2 ? 2 : 1, NULL, 0};
		struct nd_missing_ref miss = {ND_REF_NONE, 0};
		int64_t d;
		n.date_started = at[i];
		OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
		assert_int_equal(n.key, i + 1);
	}
	/* Noise in the other tenant, same target id. */
	int64_t d;
	send_to(f, f->t2, tg, 1, NULL, 0, 2000, &d);
}

/* Each feed row carries its own notification's text, however many
 * notifications a feed crosses: more than a connection keeps in memory, read
 * three times, beside another tenant's notification of the same key. */
#define BIG_NOTES 1200
#define BIG_BODY 4000

struct big_check {
	int64_t tenant;
	size_t rows;
	char fault[160];
};

static int big_cb(void *arg, const struct nd_delivery *d)
{
	struct big_check *c = arg;
	char want[32];
	snprintf(want, sizeof want, "t%lld n%d", (long long)c->tenant, d->n->key);
	size_t len = d->n->body ? strlen(d->n->body) : 0;
	if (!c->fault[0] && (strcmp(d->n->libelle, want) != 0 || len != BIG_BODY ||
			     strncmp(d->n->body, want, strlen(want)) != 0))
		snprintf(c->fault, sizeof c->fault, "row %zu: notification %d reads \"%.40s\"",
			 c->rows, d->n->key, d->n->libelle);
	c->rows++;
	return 0;
}

static void test_feed_many_notifications(void **state)
{
	struct fx *f = *state;
	static const char *const tg[] = {"big"};
	static char body[BIG_BODY + 1];
	char title[32];
	const int64_t tenants[] = {f->t, f->t2};
	for (size_t t = 0; t < 2; t++)
		for (int i = 0; i < (t ? 3 : BIG_NOTES); i++) {
			snprintf(title, sizeof title, "t%lld n%d", (long long)tenants[t], i + 1);
			memset(body, 'x', BIG_BODY);
			memcpy(body, title, strlen(title));
			struct nd_notification n = fx_notif(title);
			n.body = body;
			struct nd_recipients to = {tg, 1, NULL, 0};
			struct nd_missing_ref miss = {ND_REF_NONE, 0};
			int64_t d;
			n.date_started = 1000 + i;
			OK(nd_store_notification_create(f->c, tenants[t], &n, &to, &d, &miss, &E));
			assert_int_equal(n.key, i + 1);
		}
	/* Ascending, descending, and a continued walk (a cursor past the
	 * newest row, as a stream's later batches have), unbounded; then a
	 * first batch of 1,000 rows each way, which PostgreSQL reads without
	 * the join, its notifications from the cache or fetched together. */
	for (int pass = 0; pass < 5; pass++)
		for (size_t t = 0; t < 2; t++) {
			struct big_check c = {.tenant = tenants[t]};
			struct nd_feed_query q = fq("big", pass == 0 || pass == 3);
			if (pass == 2) {
				q.after_at = 1000000;
				q.after_key = 1;
			}
			if (pass >= 3)
				q.limit = 1000;
			OK(nd_store_feed(f->c, tenants[t], &q, big_cb, &c, &E));
			if (c.fault[0])
				fail_msg("%s", c.fault);
			assert_int_equal(c.rows, t ? 3 : q.limit ? q.limit : BIG_NOTES);
		}
}

static void test_feed_order(void **state)
{
	struct fx *f = *state;
	make_feed(f);
	struct nd_feed_query q = fq("f", true);
	FEED(&q, 1, 2, 3, 5, 4);
	q = fq("f", false);
	FEED(&q, 4, 5, 3, 2, 1);
	q = fq("g", true);
	FEED(&q, 3);
	q = fq("nobody", true);
	FEED_EMPTY(&q);
	q = fq("nobody", false);
	FEED_EMPTY(&q);

	/* Row contents. */
	struct feed_rows r = {0};
	q = fq("f", true);
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
	assert_int_equal(r.n, 5);
	assert_int_equal(r.routed_at[0], 1000);
	assert_int_equal(r.routed_at[1], 2000);
	assert_int_equal(r.routed_at[4], 3000);
	assert_string_equal(r.libelle[0], "first");
	assert_string_equal(r.libelle[1], "later");
	assert_string_equal(r.target[0], "f");
	unsigned char bin[16];
	for (size_t i = 0; i < r.n; i++) {
		assert_true(nd_guid_parse(r.guid[i], bin));
		assert_true(nd_guid_parse(r.nguid[i], bin));
		assert_string_not_equal(r.guid[i], r.nguid[i]); /* delivery has its own */
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(r.guid[i], r.guid[j]);
		for (int e = 0; e < ND_EV__COUNT; e++)
			assert_int_equal(r.at[i][e], ND_NO_TIME);
	}
	struct notif_copy c = {0};
	OK(nd_store_notification_get(f->c, f->t, 1, notif_cb, &c, &E));
	assert_string_equal(r.nguid[0], c.guid);

	/* The callback's return stops the feed. */
	memset(&r, 0, sizeof r);
	r.stop_at = 2;
	assert_int_equal(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E), 55);
	assert_int_equal(r.n, 2);
}

static void test_feed_window(void **state)
{
	struct fx *f = *state;
	make_feed(f);
	struct nd_feed_query q = fq("f", true);
	q.start = 2000;
	q.end = 3000;
	FEED(&q, 2, 3, 5);
	q.ascending = false;
	FEED(&q, 5, 3, 2);
	q = fq("f", true);
	q.start = 2000;
	q.end = 2000;
	FEED_EMPTY(&q);
	q.end = 2001;
	FEED(&q, 2, 3, 5);
	q.start = 1999;
	q.end = 2000;
	FEED_EMPTY(&q);
	q = fq("f", true);
	q.end = 2000;
	FEED(&q, 1);
	q.end = 1000;
	FEED_EMPTY(&q);
	q.end = 1001;
	FEED(&q, 1);
	q = fq("f", true);
	q.start = 3000;
	FEED(&q, 4);
	q.start = 3001;
	FEED_EMPTY(&q);
	q = fq("f", false);
	q.start = 1001;
	FEED(&q, 4, 5, 3, 2);
	q = fq("f", true);
	q.start = 0;
	q.end = 1000000;
	FEED(&q, 1, 2, 3, 5, 4);
	q.start = 3000;
	q.end = 1000; /* inverted */
	FEED_EMPTY(&q);
}

static void test_feed_limit_and_cursor(void **state)
{
	struct fx *f = *state;
	make_feed(f);
	struct nd_feed_query q = fq("f", true);
	q.limit = 2;
	FEED(&q, 1, 2);
	q.limit = 1;
	FEED(&q, 1);
	q.limit = 5;
	FEED(&q, 1, 2, 3, 5, 4);
	q.limit = 100;
	FEED(&q, 1, 2, 3, 5, 4);

	/* Ascending pages of 2 across the tie at 2000. */
	q = fq("f", true);
	q.limit = 2;
	FEED(&q, 1, 2);
	q.after_at = 2000;
	q.after_key = 2;
	FEED(&q, 3, 5);
	q.after_key = 5;
	FEED(&q, 4);
	q.after_at = 3000;
	q.after_key = 4;
	FEED_EMPTY(&q);
	q.after_at = 1000;
	q.after_key = 1;
	FEED(&q, 2, 3);
	q.after_at = 2000;
	q.after_key = 3;
	FEED(&q, 5, 4);
	q.after_at = 1500; /* a cursor between rows */
	q.after_key = 99;
	FEED(&q, 2, 3);
	q.after_at = 2000; /* ties broken by key: 4 > 3 but routed later */
	q.after_key = 4;
	FEED(&q, 5, 4);

	/* Descending pages of 2. */
	q = fq("f", false);
	q.limit = 2;
	FEED(&q, 4, 5);
	q.after_at = 2000;
	q.after_key = 5;
	FEED(&q, 3, 2);
	q.after_key = 2;
	FEED(&q, 1);
	q.after_at = 1000;
	q.after_key = 1;
	FEED_EMPTY(&q);
	q.after_at = 3000;
	q.after_key = 4;
	FEED(&q, 5, 3);
	q.after_at = 2000;
	q.after_key = 3;
	FEED(&q, 2, 1);

	/* Cursor within a window. */
	q = fq("f", true);
	q.start = 2000;
	q.end = 3000;
	q.after_at = 2000;
	q.after_key = 2;
	FEED(&q, 3, 5);
	q = fq("f", false);
	q.start = 2000;
	q.end = 3000;
	q.after_at = 2000;
	q.after_key = 5;
	q.limit = 1;
	FEED(&q, 3);

	/* Walking all pages of size 1 visits every row once, both ways. */
	for (int asc = 0; asc < 2; asc++) {
		const int32_t want_asc[] = {1, 2, 3, 5, 4}, want_desc[] = {4, 5, 3, 2, 1};
		const int32_t *want = asc ? want_asc : want_desc;
		q = fq("f", asc);
		q.limit = 1;
		for (int i = 0; i < 5; i++) {
			struct feed_rows r = {0};
			OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
			assert_int_equal(r.n, 1);
			assert_int_equal(r.key[0], want[i]);
			q.after_at = r.routed_at[0];
			q.after_key = r.key[0];
		}
		FEED_EMPTY(&q);
	}
}

/* --- events --- */

static void test_events(void **state)
{
	struct fx *f = *state;
	make_feed(f);
	OK(nd_store_event_record(f->c, f->t, "f", 2, ND_EV_IMPRESSION, 5000, &E));
	OK(nd_store_event_record(f->c, f->t, "f", 2, ND_EV_IMPRESSION, 6000,
				 &E)); /* later: ignored */
	OK(nd_store_event_record(f->c, f->t, "f", 2, ND_EV_READ, 7000, &E));
	OK(nd_store_event_record(f->c, f->t, "f", 3, ND_EV_COMPLETE, 8000, &E));
	OK(nd_store_event_record(f->c, f->t, "g", 3, ND_EV_DISMISS, 9000, &E));

	/* Each event lands in its own slot. */
	for (int ev = 0; ev < ND_EV__COUNT; ev++)
		OK(nd_store_event_record(f->c, f->t, "f", 4, (enum nd_event)ev, 10000 + ev, &E));

	struct feed_rows r = {0};
	struct nd_feed_query q = fq("f", true);
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
	assert_int_equal(r.n, 5);
	/* rows: 1, 2, 3, 5, 4 */
	for (int e = 0; e < ND_EV__COUNT; e++)
		assert_int_equal(r.at[0][e], ND_NO_TIME);
	assert_int_equal(r.at[1][ND_EV_IMPRESSION], 5000);
	assert_int_equal(r.at[1][ND_EV_READ], 7000);
	assert_int_equal(r.at[1][ND_EV_ACTIVATION], ND_NO_TIME);
	assert_int_equal(r.at[1][ND_EV_COMPLETE], ND_NO_TIME);
	assert_int_equal(r.at[2][ND_EV_COMPLETE], 8000);
	assert_int_equal(r.at[2][ND_EV_DISMISS], ND_NO_TIME); /* that was g's */
	for (int e = 0; e < ND_EV__COUNT; e++)
		assert_int_equal(r.at[4][e], 10000 + e);

	memset(&r, 0, sizeof r);
	q = fq("g", true);
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.at[0][ND_EV_DISMISS], 9000);
	assert_int_equal(r.at[0][ND_EV_COMPLETE], ND_NO_TIME);

	/* An earlier time after a later one still loses: the first recorded wins. */
	OK(nd_store_event_record(f->c, f->t, "f", 2, ND_EV_IMPRESSION, 1, &E));
	memset(&r, 0, sizeof r);
	q = fq("f", true);
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
	assert_int_equal(r.at[1][ND_EV_IMPRESSION], 5000);

	FAILS(ND_ERR_NOT_FOUND, nd_store_event_record(f->c, f->t, "f", 99, ND_EV_READ, 1, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_event_record(f->c, f->t, "nobody", 1, ND_EV_READ, 1, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_event_record(f->c, f->t, "g", 1, ND_EV_READ, 1, &E));
	/* The other tenant's notification 1 went to its own "f". */
	FAILS(ND_ERR_NOT_FOUND, nd_store_event_record(f->c, f->t2, "f", 2, ND_EV_READ, 1, &E));
	OK(nd_store_event_record(f->c, f->t2, "f", 1, ND_EV_READ, 1, &E));
	/* Deleted target: its deliveries are gone. */
	OK(nd_store_target_delete(f->c, f->t, "g", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_event_record(f->c, f->t, "g", 3, ND_EV_READ, 1, &E));
}

/* --- persistence --- */

static void test_reopen(void **state)
{
	struct fx *f = *state;
	unsigned char h[ND_KEY_HASH_LEN], hr[ND_KEY_HASH_LEN];
	fx_hash("persistent-admin-key", h);
	fx_hash("revoked-admin-key", hr);
	char idr[ND_KEY_ID_LEN + 1];
	nd_key_id(hr, idr);
	OK(nd_store_key_put(f->c, f->t, h, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	OK(nd_store_key_put(f->c, f->t, hr, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	OK(nd_store_key_revoke(f->c, f->t, idr, &E));
	OK(nd_store_tenant_set_zone(f->c, f->t2, "Asia/Tokyo", &E));
	struct nd_target t = {.id = "keep", .name = "Kept"};
	bool created;
	OK(nd_store_target_put(f->c, f->t, &t, &created, &E));
	struct nd_campaign cp = {.id = "camp", .name = "Camp"};
	OK(nd_store_campaign_put(f->c, f->t, &cp, &created, &E));
	int32_t seg;
	OK(nd_store_segment_create(f->c, f->t, "seg", &seg, &E));
	OK(nd_store_member_put(f->c, f->t, seg, "keep", &E));
	static const char *const tg[] = {"keep"};
	int64_t d;
	assert_int_equal(send_to(f, f->t, tg, 1, NULL, 0, 4242, &d), 1);
	assert_int_equal(send_to(f, f->t, tg, 1, NULL, 0, 4343, &d), 2);
	OK(nd_store_event_record(f->c, f->t, "keep", 1, ND_EV_READ, 5000, &E));

	fx_reopen(f, NULL); /* the default options */

	int64_t tid = 0;
	OK(nd_store_tenant_find(f->c, "default", &tid, &E));
	assert_int_equal(tid, f->t);
	OK(nd_store_tenant_ensure(f->c, "default", &tid, &E));
	assert_int_equal(tid, f->t);
	struct nd_principal p;
	OK(nd_store_key_auth(f->c, h, &p, &E));
	assert_int_equal(p.tenant_id, f->t);
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, hr, &p, &E));
	struct tenant_copy tc = {0};
	OK(nd_store_tenant_get(f->c, f->t2, tenant_cb, &tc, &E));
	assert_string_equal(tc.zone, "Asia/Tokyo");
	assert_int_equal(tenant_deliveries(f->c, f->t), 2);
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "keep", target_cb, &g, &E));
	assert_string_equal(g.name, "Kept");
	assert_int_equal(g.created_at, t.created_at);
	struct camp_copy cc = {0};
	OK(nd_store_campaign_get(f->c, f->t, "camp", camp_cb, &cc, &E));
	assert_int_equal(cc.created_at, cp.created_at);
	assert_int_equal(seg_members(f, f->t, seg), 1);
	struct nd_feed_query q = fq("keep", true);
	struct feed_rows r = {0};
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &r, &E));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.routed_at[0], 4242);
	assert_int_equal(r.at[0][ND_EV_READ], 5000);
	/* Counters continue. */
	assert_int_equal(send_to(f, f->t, tg, 1, NULL, 0, 1, &d), 3);
	int32_t seg2;
	OK(nd_store_segment_create(f->c, f->t, "seg2", &seg2, &E));
	assert_int_equal(seg2, seg + 1);

	/* Reopening an already-migrated database twice in a row is fine. */
	struct nd_store_opts opts = {.sqlite = {.sync_full = true}};
	fx_reopen(f, &opts);
	assert_int_equal(deliveries_of(f, f->t, 3), 1);
}

/* --- concurrency --- */

enum { PER_WORKER = 25, SEGS_PER_WORKER = 3, MEMBERS_PER_WORKER = 5 };

struct worker {
	struct nd_store *s;
	int64_t tenant;
	int32_t segment; /* every worker adds members to it */
	int id;
	int32_t keys[PER_WORKER];
	int32_t segs[SEGS_PER_WORKER];
	char failure[ND_DETAIL_MAX + 64];
};

/* One writer with its own connection: notifications to "shared", new
 * segments and new members of one segment, interleaved. */
static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct nd_store_conn *c;
	struct nd_error err = {0};
	if (nd_store_conn(w->s, &c, &err)) {
		snprintf(w->failure, sizeof w->failure, "conn: %s", err.detail);
		return NULL;
	}
	static const char *const tg[] = {"shared"};
	for (int i = 0; i < PER_WORKER; i++) {
		struct nd_notification n = fx_notif("concurrent");
		struct nd_recipients to = {tg, 1, NULL, 0};
		struct nd_missing_ref miss = {ND_REF_NONE, 0};
		int64_t d;
		n.date_started = 1000 + i;
		if (nd_store_notification_create(c, w->tenant, &n, &to, &d, &miss, &err)) {
			snprintf(w->failure, sizeof w->failure, "notification %d: %s", i,
				 err.detail);
			return NULL;
		}
		w->keys[i] = n.key;
		char name[32];
		if (i < SEGS_PER_WORKER) {
			snprintf(name, sizeof name, "w%d-%d", w->id, i);
			if (nd_store_segment_create(c, w->tenant, name, &w->segs[i], &err)) {
				snprintf(w->failure, sizeof w->failure, "segment %d: %s", i,
					 err.detail);
				return NULL;
			}
		}
		if (i % (PER_WORKER / MEMBERS_PER_WORKER) == 0) {
			snprintf(name, sizeof name, "m%d-%d", w->id, i);
			if (nd_store_member_put(c, w->tenant, w->segment, name, &err)) {
				snprintf(w->failure, sizeof w->failure, "member %d: %s", i,
					 err.detail);
				return NULL;
			}
		}
	}
	return NULL;
}

static int count_cb(void *arg, const struct nd_delivery *d)
{
	(void)d;
	(*(size_t *)arg)++;
	return 0;
}

/* Runs @nw workers, worker i writing through stores[i % nstores], then
 * checks that no write was lost or doubled: keys and segment ids unique and
 * consecutive, every counter exact, as seen through every store. */
static void run_workers(struct fx *f, struct nd_store *const *stores, size_t nstores, int nw)
{
	enum { MAX_WORKERS = 8 };
	assert_true(nw <= MAX_WORKERS);
	int32_t seg;
	OK(nd_store_segment_create(f->c, f->t, "shared-seg", &seg, &E));
	assert_int_equal(seg, 1);
	struct worker w[MAX_WORKERS];
	pthread_t th[MAX_WORKERS];
	for (int i = 0; i < nw; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].s = stores[(size_t)i % nstores];
		w[i].tenant = f->t;
		w[i].segment = seg;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < nw; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	const int nkeys = nw * PER_WORKER, nsegs = nw * SEGS_PER_WORKER;
	bool seen_key[MAX_WORKERS * PER_WORKER + 1] = {false};
	bool seen_seg[MAX_WORKERS * SEGS_PER_WORKER + 2] = {false};
	for (int i = 0; i < nw; i++) {
		if (w[i].failure[0])
			fail_msg("worker %d: %s", i, w[i].failure);
		for (int j = 0; j < PER_WORKER; j++) {
			int32_t k = w[i].keys[j];
			if (k < 1 || k > nkeys || seen_key[k])
				fail_msg("worker %d got notification key %d twice or out of 1..%d",
					 i, k, nkeys);
			seen_key[k] = true;
			/* One worker's keys ascend: each of its transactions came after. */
			if (j > 0)
				assert_true(k > w[i].keys[j - 1]);
		}
		for (int j = 0; j < SEGS_PER_WORKER; j++) {
			int32_t id = w[i].segs[j];
			if (id < 2 || id > nsegs + 1 || seen_seg[id])
				fail_msg("worker %d got segment id %d twice or out of 2..%d", i, id,
					 nsegs + 1);
			seen_seg[id] = true;
		}
	}

	for (size_t i = 0; i < nstores; i++) {
		struct nd_store_conn *c;
		OK(nd_store_conn(stores[i], &c, &E));
		assert_int_equal(tenant_deliveries(c, f->t), nkeys);
		struct seg_rows r = {0};
		OK(nd_store_segment_get(c, f->t, seg, seg_cb, &r, &E));
		assert_int_equal(r.members[0], nw * MEMBERS_PER_WORKER);
		memset(&r, 0, sizeof r);
		OK(nd_store_segment_list(c, f->t, seg_cb, &r, &E));
		assert_int_equal(r.n, nsegs + 1);
		struct notif_copy nc = {0};
		OK(nd_store_notification_get(c, f->t, (int32_t)nkeys, notif_cb, &nc, &E));
		assert_int_equal(nc.deliveries, 1);
		size_t n = 0;
		struct nd_feed_query q = fq("shared", true);
		OK(nd_store_feed(c, f->t, &q, count_cb, &n, &E));
		assert_int_equal(n, nkeys);
		struct nd_list_query all = fx_lq();
		all.limit = 1;
		int64_t total = -1;
		n = 0;
		OK(nd_store_list(c, f->t, &all, fx_count_item, &n, &total, &E));
		assert_int_equal(n, 1);
		assert_int_equal(total, nkeys);
	}
	/* The counters go on from where the writers left them, in every store. */
	int64_t d;
	assert_int_equal(send_to(f, f->t, NULL, 0, NULL, 0, 1, &d), nkeys + 1);
	for (size_t i = 0; i < nstores; i++) {
		struct nd_store_conn *c;
		OK(nd_store_conn(stores[i], &c, &E));
		int32_t id;
		OK(nd_store_segment_create(c, f->t, "after", &id, &E));
		assert_int_equal(id, nsegs + 2 + (int32_t)i);
	}
}

static void test_concurrent_writers(void **state)
{
	struct fx *f = *state;
	struct nd_store *stores[] = {f->s};
	run_workers(f, stores, 1, 4);
}

/* Two notifd processes on one database: two stores opened separately, each
 * with its own connections, writing at once. */
static void test_two_stores(void **state)
{
	struct fx *f = *state;
	struct nd_store *stores[] = {f->s, fx_open_extra(f)};
	run_workers(f, stores, 2, 4);
	/* Each store sees what the other wrote since. */
	struct nd_store_conn *c2;
	OK(nd_store_conn(stores[1], &c2, &E));
	struct nd_target t = {.id = "late", .name = "Late"};
	bool created;
	OK(nd_store_target_put(c2, f->t, &t, &created, &E));
	assert_true(created);
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "late", target_cb, &g, &E));
	assert_string_equal(g.name, "Late");
}

/* --- a notification past the connection's cache --- */

static int body_len(void *arg, const struct nd_notification *n)
{
	*(size_t *)arg = n->body ? strlen(n->body) : 0;
	return 0;
}

static int item_body_len(void *arg, const struct nd_item *it)
{
	return body_len(arg, it->d->n);
}

static int delivery_body_len(void *arg, const struct nd_delivery *d)
{
	return body_len(arg, d->n);
}

/* A notification bigger than a connection keeps of notification rows
 * (store/ncache.h, 4 MiB) is read for the row that shows it, whole, by a
 * feed and by a listing alike. */
static void test_big_notification(void **state)
{
	struct fx *f = *state;
	size_t len = (size_t)5 << 20;
	char *body = malloc(len + 1);
	assert_non_null(body);
	memset(body, 'x', len);
	body[len] = '\0';
	struct nd_notification n = fx_notif("big");
	n.body = body;
	static const char *const to_a[] = {"a"};
	struct nd_recipients to = {to_a, 1, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	int64_t d;
	OK(nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	free(body);
	for (int twice = 0; twice < 2; twice++) {
		size_t got = 0;
		struct nd_feed_query q = fq("a", false);
		OK(nd_store_feed(f->c, f->t, &q, delivery_body_len, &got, &E));
		assert_int_equal(got, len);
		got = 0;
		q.limit = 20; /* a first batch: the notification fetched, not joined */
		OK(nd_store_feed(f->c, f->t, &q, delivery_body_len, &got, &E));
		assert_int_equal(got, len);
		got = 0;
		struct nd_list_query lq = fx_lq();
		OK(nd_store_list(f->c, f->t, &lq, item_body_len, &got, NULL, &E));
		assert_int_equal(got, len);
	}
}

/* --- read scopes --- */

typedef enum nd_err (*other_fn)(struct nd_store_conn *c, struct fx *f, const char *arg,
				struct nd_error *err);

struct other_arg {
	struct fx *f;
	other_fn fn;
	const char *arg;
	enum nd_err e;
};

static void *other_thread(void *arg)
{
	struct other_arg *a = arg;
	struct nd_store_conn *c = NULL;
	struct nd_error err = {0};
	a->e = nd_store_conn(a->f->s, &c, &err);
	if (!a->e)
		a->e = a->fn(c, a->f, a->arg, &err);
	return NULL;
}

/* Runs @fn(@arg) through the store's connection of another thread, as
 * another worker or another instance would. */
static void on_other_thread(struct fx *f, other_fn fn, const char *arg)
{
	struct other_arg a = {f, fn, arg, ND_ERR_INTERNAL};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_thread, &a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.e, ND_OK);
}

static enum nd_err put_target(struct nd_store_conn *c, struct fx *f, const char *id,
			      struct nd_error *err)
{
	struct nd_target t = {.id = id, .name = "Other"};
	bool created;
	return nd_store_target_put(c, f->t, &t, &created, err);
}

static enum nd_err revoke_key(struct nd_store_conn *c, struct fx *f, const char *id,
			      struct nd_error *err)
{
	return nd_store_key_revoke(c, f->t, id, err);
}

static enum nd_err set_zone(struct nd_store_conn *c, struct fx *f, const char *zone,
			    struct nd_error *err)
{
	return nd_store_tenant_set_zone(c, f->t, zone, err);
}

/* A read scope is one snapshot on SQLite: a commit made meanwhile on
 * another connection shows after its end, not within. PostgreSQL has none
 * (each statement reads the latest commit) and says so by doing nothing.
 * On both, the connection writes again once the scope is over. */
static void test_read_scope(void **state)
{
	struct fx *f = *state;
	struct nd_target before = {.id = "before", .name = "Before"};
	bool created;
	OK(nd_store_target_put(f->c, f->t, &before, &created, &E));

	OK(nd_store_read_begin(f->c, &E));
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, f->t, "before", target_cb, &g, &E));
	on_other_thread(f, put_target, "during");
	memset(&g, 0, sizeof g);
	enum nd_err seen = nd_store_target_get(f->c, f->t, "during", target_cb, &g, &E);
	bool stale;
	OK(nd_store_read_end(f->c, &stale, &E));
	assert_false(stale);
	assert_int_equal(seen, fx_backend() == FX_SQLITE ? ND_ERR_NOT_FOUND : ND_OK);

	memset(&g, 0, sizeof g);
	OK(nd_store_target_get(f->c, f->t, "during", target_cb, &g, &E));
	assert_string_equal(g.name, "Other");
	struct nd_target after = {.id = "after", .name = "After"};
	OK(nd_store_target_put(f->c, f->t, &after, &created, &E));
	assert_true(created);
	OK(nd_store_read_end(f->c, &stale, &E)); /* no scope open: nothing to do */
	OK(nd_store_target_get(f->c, f->t, "after", target_cb, &g, &E));
}

/* A read's key: a key revoked through another connection fails the next
 * read of a connection that saw it valid, and a principal changed there
 * (its tenant's zone) is not answered with. PostgreSQL takes a key it has
 * seen from memory inside a read and confirms it with the database in the
 * round trip of the read's first statement, or at its end: the read then
 * hands out no row and its end says why. SQLite reads the key each time. */
static void read_key(struct fx *f, const unsigned char *hash, enum nd_err *auth,
		     struct nd_principal *who)
{
	OK(nd_store_read_begin(f->c, &E));
	*auth = nd_store_key_auth(f->c, hash, who, &E);
}

static void test_read_key(void **state)
{
	struct fx *f = *state;
	bool pg = fx_backend() == FX_POSTGRES, stale;
	static const char *const to_a[] = {"a"};
	int64_t d;
	send_to(f, f->t, to_a, 1, NULL, 0, 1000, &d);
	unsigned char hash[ND_KEY_HASH_LEN];
	fx_hash("read-key-0123456789", hash);
	OK(nd_store_key_put(f->c, f->t, hash, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	struct nd_principal who;
	enum nd_err auth;
	OK(nd_store_key_auth(f->c, hash, &who, &E)); /* seen valid */
	char id[ND_KEY_ID_LEN + 1];
	snprintf(id, sizeof id, "%s", who.key_id);
	struct nd_feed_query q = fq("a", false);
	q.limit = 20; /* a first batch: one statement, sent with the key's check */

	/* Still valid: the read goes through, its rows and its end. */
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_OK);
	struct feed_rows rows = {0};
	OK(nd_store_feed(f->c, f->t, &q, feed_cb, &rows, &E));
	assert_int_equal(rows.n, 1);
	OK(nd_store_read_end(f->c, &stale, &E));
	assert_false(stale);

	/* The zone changed elsewhere: the read starts from the remembered
	 * principal, is told at its end that it is stale, and the next one has
	 * the new zone. On PostgreSQL the feed's statement already knows (it
	 * went with the key's lookup); on SQLite it reads. */
	on_other_thread(f, set_zone, "Asia/Tokyo");
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_OK);
	assert_string_equal(who.time_zone, ND_DEFAULT_ZONE);
	rows = (struct feed_rows){0};
	enum nd_err fed = nd_store_feed(f->c, f->t, &q, feed_cb, &rows, &E);
	OK(nd_store_read_end(f->c, &stale, &E));
	assert_true(stale);
	assert_int_equal(fed, pg ? ND_ERR_BUSY : ND_OK);
	assert_int_equal(rows.n, pg ? 0 : 1);
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_OK);
	assert_string_equal(who.time_zone, "Asia/Tokyo");
	OK(nd_store_read_end(f->c, &stale, &E)); /* confirmed at the end */
	assert_false(stale);

	/* Revoked elsewhere: a read whose first statement is a feed page
	 * (on PostgreSQL neither it nor anything after it runs; on SQLite they
	 * read) ends with the key gone. */
	on_other_thread(f, revoke_key, id);
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_OK);
	rows = (struct feed_rows){0};
	struct nd_list_query lq = fx_lq();
	size_t listed = 0;
	if (pg) {
		FAILS(ND_ERR_BUSY, nd_store_feed(f->c, f->t, &q, feed_cb, &rows, &E));
		assert_int_equal(rows.n, 0);
		FAILS(ND_ERR_BUSY, nd_store_list(f->c, f->t, &lq, item_body_len, &listed, NULL, &E));
	} else {
		OK(nd_store_feed(f->c, f->t, &q, feed_cb, &rows, &E));
		OK(nd_store_list(f->c, f->t, &lq, item_body_len, &listed, NULL, &E));
	}
	FAILS(ND_ERR_NOT_FOUND, nd_store_read_end(f->c, &stale, &E));
	/* Forgotten since: the key fails at once, in a read or not. */
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_ERR_NOT_FOUND);
	OK(nd_store_read_end(f->c, &stale, &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, hash, &who, &E));

	/* A write inside a read (none does so today) waits for the key too:
	 * revoked meanwhile, it does not run. */
	unsigned char hash2[ND_KEY_HASH_LEN];
	fx_hash("read-key-write-0123", hash2);
	OK(nd_store_key_put(f->c, f->t, hash2, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	OK(nd_store_key_auth(f->c, hash2, &who, &E));
	snprintf(id, sizeof id, "%s", who.key_id);
	on_other_thread(f, revoke_key, id);
	read_key(f, hash2, &auth, &who);
	struct nd_target t = {.id = "written-in-a-read", .name = "W"};
	bool created;
	enum nd_err wrote = nd_store_target_put(f->c, f->t, &t, &created, &E);
	enum nd_err end = nd_store_read_end(f->c, &stale, &E);
	assert_int_equal(auth, ND_OK);
	/* PostgreSQL holds the write back; SQLite starts no write inside a
	 * read transaction at all */
	assert_int_equal(wrote, pg ? ND_ERR_BUSY : ND_ERR_INTERNAL);
	assert_int_equal(end, ND_ERR_NOT_FOUND);
	struct target_copy g = {0};
	FAILS(ND_ERR_NOT_FOUND,
	      nd_store_target_get(f->c, f->t, "written-in-a-read", target_cb, &g, &E));
}

/* A key revoked elsewhere, in a read that runs no statement at all (its
 * request failed before it read): the read's end confirms the key. */
static void test_read_key_unused(void **state)
{
	struct fx *f = *state;
	bool stale;
	unsigned char hash[ND_KEY_HASH_LEN];
	fx_hash("read-key-unused-0123", hash);
	OK(nd_store_key_put(f->c, f->t, hash, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	struct nd_principal who;
	OK(nd_store_key_auth(f->c, hash, &who, &E));
	char id[ND_KEY_ID_LEN + 1];
	snprintf(id, sizeof id, "%s", who.key_id);
	on_other_thread(f, revoke_key, id);
	enum nd_err auth;
	read_key(f, hash, &auth, &who);
	assert_int_equal(auth, ND_OK);
	FAILS(ND_ERR_NOT_FOUND, nd_store_read_end(f->c, &stale, &E));
}

/* --- listing (API3) --- */

#define MAX_ITEMS 64

struct items {
	size_t n;
	char guid[MAX_ITEMS][ND_GUID_LEN + 1];
	char member[MAX_ITEMS][32];
	int32_t key[MAX_ITEMS];
	int64_t routed_at[MAX_ITEMS];
	/* what the orders read */
	int64_t completed_at[MAX_ITEMS], read_at[MAX_ITEMS];
	int64_t created_at[MAX_ITEMS], updated_at[MAX_ITEMS];
	char title[MAX_ITEMS][32], type[MAX_ITEMS][32];
	bool has_type[MAX_ITEMS];
};

static int item_cb(void *arg, const struct nd_item *it)
{
	struct items *r = arg;
	assert_true(r->n < MAX_ITEMS);
	size_t i = r->n++;
	memcpy(r->guid[i], it->d->guid, ND_GUID_LEN + 1);
	if (it->member) {
		snprintf(r->member[i], sizeof r->member[i], "%s", it->member->id);
		assert_string_equal(it->d->target, it->member->id);
		/* A listing's member is what API3 shows of it, no more. */
		assert_null(it->member->attributes);
		assert_int_equal(it->member->created_at, ND_NO_TIME);
		assert_int_equal(it->member->updated_at, ND_NO_TIME);
	} else {
		assert_null(it->d->target);
	}
	/* A listing shows a delivery's read time, and no other event's. */
	for (int e = 0; e < ND_EV__COUNT; e++)
		if (e != ND_EV_READ)
			assert_int_equal(it->d->at[e], ND_NO_TIME);
	r->key[i] = it->d->n->key;
	r->routed_at[i] = it->d->routed_at;
	r->read_at[i] = it->d->at[ND_EV_READ];
	r->created_at[i] = it->d->n->created_at;
	snprintf(r->title[i], sizeof r->title[i], "%s", it->d->n->libelle);
	r->has_type[i] = it->d->n->type != NULL;
	snprintf(r->type[i], sizeof r->type[i], "%s", it->d->n->type ? it->d->n->type : "");
	return 0;
}

/* What orders read and a listing does not show: each listed delivery's
 * completion and last change, from the dump. */
static int stored_times(void *arg, const struct nd_record *rec)
{
	struct items *r = arg;
	if (rec->kind != ND_REC_DELIVERY)
		return 0;
	char guid[ND_GUID_LEN + 1];
	nd_guid_format(rec->u.delivery.guid, guid);
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->guid[i], guid) == 0) {
			r->completed_at[i] = rec->u.delivery.at[ND_EV_COMPLETE];
			r->updated_at[i] = rec->u.delivery.updated_at;
		}
	}
	return 0;
}

/* Lists a page of what matches @q into @r, with the times orders read. */
static void list_page(struct fx *f, int64_t tenant, const struct nd_list_query *q,
		      struct items *r, int64_t *total)
{
	memset(r, 0, sizeof *r);
	OK(nd_store_list(f->c, tenant, q, item_cb, r, total, &E));
	OK(nd_store_dump(f->c, NULL, stored_times, r, &E));
}

/* Lists everything matching @q and checks the total against the rows. */
static size_t list_all(struct fx *f, int64_t tenant, struct nd_list_query q, struct items *r)
{
	int64_t total = -1;
	q.limit = 0;
	q.offset = 0;
	list_page(f, tenant, &q, r, &total);
	assert_int_equal(total, (int64_t)r->n);
	return r->n;
}

/* Row @j of @b says what row @i of @a says. */
static void assert_same_item(const struct items *a, size_t i, const struct items *b, size_t j)
{
	assert_string_equal(a->guid[i], b->guid[j]);
	assert_string_equal(a->member[i], b->member[j]);
	assert_int_equal(a->key[i], b->key[j]);
	assert_int_equal(a->routed_at[i], b->routed_at[j]);
	assert_int_equal(a->completed_at[i], b->completed_at[j]);
	assert_int_equal(a->read_at[i], b->read_at[j]);
	assert_int_equal(a->created_at[i], b->created_at[j]);
	assert_int_equal(a->updated_at[i], b->updated_at[j]);
	assert_string_equal(a->title[i], b->title[j]);
	assert_int_equal(a->has_type[i], b->has_type[j]);
	assert_string_equal(a->type[i], b->type[j]);
}

static void test_list_filters(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	struct items r;
	fx_make_list(f, keys);
	struct nd_list_query q = fx_lq();
	assert_int_equal(list_all(f, f->t, q, &r), 12);
	/* default order: routing time, newest first */
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.routed_at[i - 1] >= r.routed_at[i]);
	/* Without members: the same rows, each without its member. */
	struct items bare;
	q.with_member = false;
	assert_int_equal(list_all(f, f->t, q, &bare), 12);
	for (size_t i = 0; i < bare.n; i++) {
		assert_string_equal(bare.member[i], "");
		snprintf(bare.member[i], sizeof bare.member[i], "%s", r.member[i]);
		assert_same_item(&bare, i, &r, i);
	}
	q.with_member = true;
	assert_int_equal(list_all(f, f->t2, q, &r), 0);

	q = fx_lq();
	q.member = "a";
	assert_int_equal(list_all(f, f->t, q, &r), 4);
	q.member = "nobody";
	assert_int_equal(list_all(f, f->t, q, &r), 0);
	q = fx_lq();
	q.campaign_id = "c1";
	assert_int_equal(list_all(f, f->t, q, &r), 5);
	q.type = "comment";
	assert_int_equal(list_all(f, f->t, q, &r), 3);
	q = fx_lq();
	q.type = "like";
	assert_int_equal(list_all(f, f->t, q, &r), 6);
	q.member = "c";
	assert_int_equal(list_all(f, f->t, q, &r), 2);
	q = fx_lq();
	q.by_key = true;
	q.key = keys[1];
	assert_int_equal(list_all(f, f->t, q, &r), 3);
	q.member = "b";
	assert_int_equal(list_all(f, f->t, q, &r), 1);
	char guid[ND_GUID_LEN + 1];
	memcpy(guid, r.guid[0], sizeof guid);
	q = fx_lq();
	q.by_guid = true;
	assert_true(nd_guid_parse(guid, q.guid));
	assert_int_equal(list_all(f, f->t, q, &r), 1);
	assert_string_equal(r.guid[0], guid);
	assert_int_equal(list_all(f, f->t2, q, &r), 0);
	/* [from, to) on routing time: notifications 1 and 2 */
	q = fx_lq();
	q.started_from = KEY_TIME + 60000;
	q.started_to = KEY_TIME + 180000;
	assert_int_equal(list_all(f, f->t, q, &r), 4);
	q.started_to = KEY_TIME + 180000 - 1;
	assert_int_equal(list_all(f, f->t, q, &r), 4);
	q.started_to = KEY_TIME + 120000;
	assert_int_equal(list_all(f, f->t, q, &r), 3);
	/* completion window */
	OK(nd_store_event_record(f->c, f->t, "a", keys[0], ND_EV_COMPLETE, KEY_TIME + 5, &E));
	OK(nd_store_event_record(f->c, f->t, "b", keys[0], ND_EV_COMPLETE, KEY_TIME + 10, &E));
	q = fx_lq();
	q.completed_from = KEY_TIME;
	q.completed_to = KEY_TIME + 10;
	assert_int_equal(list_all(f, f->t, q, &r), 1);
	assert_string_equal(r.member[0], "a");
}

static void test_list_counters(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	struct items r;
	fx_make_list(f, keys);
	struct nd_list_query all = fx_lq(), mine = fx_lq(), notif_q = fx_lq(), camp = fx_lq();
	mine.member = "a";
	notif_q.by_key = true;
	notif_q.key = keys[5];
	camp.campaign_id = "c2";
	list_all(f, f->t, all, &r);
	char a_guid[ND_GUID_LEN + 1] = "";
	for (size_t i = 0; i < r.n; i++)
		if (strcmp(r.member[i], "a") == 0 && r.key[i] == keys[5])
			memcpy(a_guid, r.guid[i], sizeof a_guid);
	unsigned char g[16];
	assert_true(nd_guid_parse(a_guid, g));

	/* Soft delete: only the owner (or an admin) reaches it, once. */
	FAILS(ND_ERR_NOT_FOUND, nd_store_delivery_delete(f->c, f->t, g, "b", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_delivery_delete(f->c, f->t2, g, NULL, &E));
	OK(nd_store_delivery_delete(f->c, f->t, g, "a", &E));
	FAILS(ND_ERR_NOT_FOUND, nd_store_delivery_delete(f->c, f->t, g, NULL, &E));
	assert_int_equal(list_all(f, f->t, all, &r), 11);
	assert_int_equal(list_all(f, f->t, mine, &r), 3);
	assert_int_equal(list_all(f, f->t, notif_q, &r), 2);
	assert_int_equal(deliveries_of(f, f->t, keys[5]), 2);
	struct nd_feed_query fqa = fq("a", true);
	struct feed_rows fr = {0};
	OK(nd_store_feed(f->c, f->t, &fqa, feed_cb, &fr, &E));
	assert_int_equal(fr.n, 3);
	FAILS(ND_ERR_NOT_FOUND,
	      nd_store_event_record(f->c, f->t, "a", keys[5], ND_EV_READ, KEY_TIME, &E));

	/* Deleting a target takes its live deliveries out of every counter. */
	OK(nd_store_target_delete(f->c, f->t, "b", &E));
	assert_int_equal(list_all(f, f->t, all, &r), 7);
	assert_int_equal(list_all(f, f->t, camp, &r), 2);
	assert_int_equal(deliveries_of(f, f->t, keys[1]), 2);
	/* ... and the counters survive a reopen. */
	struct nd_store_opts opts = {.sqlite = {.sync_full = false}};
	fx_reopen(f, &opts);
	assert_int_equal(list_all(f, f->t, all, &r), 7);
}

/* Walks every page of size @size and checks it is the full list, in order,
 * row for row (a backend may read a later page another way: SQLite joins
 * the notifications on a member's later pages, and takes them from its
 * cache otherwise). */
static void check_paging(struct fx *f, struct nd_list_query q, size_t size)
{
	struct items whole, page;
	list_all(f, f->t, q, &whole);
	size_t seen = 0;
	for (size_t p = 0;; p++) {
		q.limit = size;
		q.offset = p * size;
		int64_t total;
		list_page(f, f->t, &q, &page, &total);
		assert_int_equal(total, (int64_t)whole.n);
		for (size_t i = 0; i < page.n; i++)
			assert_same_item(&page, i, &whole, seen + i);
		seen += page.n;
		if (page.n < size)
			break;
	}
	assert_int_equal(seen, whole.n);
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Rows @i and @j of @r compared on @k: unset (ND_NO_TIME, no type, unread)
 * sorts before any value, as "completion time (unset first)" in model.h. */
static int cmp_on(const struct items *r, size_t i, size_t j, enum nd_order_key k)
{
	switch (k) {
	case ND_ORDER_STARTED:
		return cmp_i64(r->routed_at[i], r->routed_at[j]);
	case ND_ORDER_COMPLETED:
		return cmp_i64(r->completed_at[i], r->completed_at[j]);
	case ND_ORDER_CREATED:
		return cmp_i64(r->created_at[i], r->created_at[j]);
	case ND_ORDER_MODIFIED:
		return cmp_i64(r->updated_at[i], r->updated_at[j]);
	case ND_ORDER_TYPE:
		if (r->has_type[i] != r->has_type[j])
			return r->has_type[i] ? 1 : -1;
		return strcmp(r->type[i], r->type[j]);
	case ND_ORDER_TITLE:
		return strcmp(r->title[i], r->title[j]);
	case ND_ORDER_READ:
		return (r->read_at[i] != ND_NO_TIME) - (r->read_at[j] != ND_NO_TIME);
	case ND_ORDER_ID:
		return strcmp(r->guid[i], r->guid[j]);
	case ND_ORDER_KEY:
		return cmp_i64(r->key[i], r->key[j]);
	case ND_ORDER__COUNT:
		break;
	}
	fail_msg("order key %d", (int)k);
	return 0;
}

/* Every row of a full listing follows @q's order terms (none: routing time,
 * newest first). */
static void check_order(struct fx *f, struct nd_list_query q)
{
	static const struct nd_order_term newest = {ND_ORDER_STARTED, true};
	const struct nd_order_term *terms = q.norder ? q.order : &newest;
	size_t nterms = q.norder ? q.norder : 1;
	struct items r;
	list_all(f, f->t, q, &r);
	for (size_t i = 1; i < r.n; i++) {
		for (size_t t = 0; t < nterms; t++) {
			int c = cmp_on(&r, i - 1, i, terms[t].key);
			if (terms[t].desc)
				c = -c;
			if (c < 0)
				break;
			if (c > 0)
				fail_msg("order %d%s (term %zu of %zu): row %zu (key %d, %s) comes "
					 "before row %zu (key %d, %s)",
					 (int)terms[t].key, terms[t].desc ? " desc" : "", t + 1,
					 nterms, i - 1, r.key[i - 1], r.member[i - 1], i, r.key[i],
					 r.member[i]);
		}
	}
}

static void test_list_orders(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	struct items r;
	fx_make_list(f, keys);
	/* Something for every order to tell apart: completions, reads, and a
	 * notification without a type. */
	OK(nd_store_event_record(f->c, f->t, "a", keys[0], ND_EV_COMPLETE, KEY_TIME + 7, &E));
	OK(nd_store_event_record(f->c, f->t, "c", keys[2], ND_EV_COMPLETE, KEY_TIME + 3, &E));
	OK(nd_store_event_record(f->c, f->t, "b", keys[1], ND_EV_READ, KEY_TIME + 1, &E));
	OK(nd_store_event_record(f->c, f->t, "a", keys[3], ND_EV_READ, KEY_TIME + 2, &E));
	static const char *const c[] = {"c"};
	int64_t d;
	int32_t untyped = send_to(f, f->t, c, 1, NULL, 0, KEY_TIME + 30000, &d);
	struct nd_notification empty = fx_notif("empty type");
	empty.type = "";
	empty.date_started = KEY_TIME + 20000;
	struct nd_recipients to_c = {c, 1, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	OK(nd_store_notification_create(f->c, f->t, &empty, &to_c, &d, &miss, &E));

	struct nd_list_query q = fx_lq();
	check_order(f, q);
	check_paging(f, q, 4);
	q.norder = 1;
	for (int k = 0; k < ND_ORDER__COUNT; k++) {
		for (int desc = 0; desc < 2; desc++) {
			q.order[0] = (struct nd_order_term){(enum nd_order_key)k, desc};
			check_order(f, q);
			check_paging(f, q, 1);
			check_paging(f, q, 5);
			q.member = "a";
			check_order(f, q);
			check_paging(f, q, 1);
			q.member = NULL;
		}
	}
	/* notification_key ascending: keys in creation order */
	q.order[0] = (struct nd_order_term){ND_ORDER_KEY, false};
	list_all(f, f->t, q, &r);
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.key[i - 1] <= r.key[i]);
	/* unset first: the untyped notification, then the empty type, then the
	 * others; the other way round descending */
	q.order[0] = (struct nd_order_term){ND_ORDER_TYPE, false};
	list_all(f, f->t, q, &r);
	assert_int_equal(r.key[0], untyped);
	assert_int_equal(r.key[1], empty.key);
	assert_true(r.has_type[1] && r.has_type[2] && strcmp(r.type[2], "") > 0);
	q.order[0] = (struct nd_order_term){ND_ORDER_TYPE, true};
	list_all(f, f->t, q, &r);
	assert_int_equal(r.key[r.n - 1], untyped);
	assert_int_equal(r.key[r.n - 2], empty.key);
	q.order[0] = (struct nd_order_term){ND_ORDER_COMPLETED, false};
	list_all(f, f->t, q, &r);
	assert_int_equal(r.completed_at[0], ND_NO_TIME);
	assert_int_equal(r.completed_at[r.n - 1], KEY_TIME + 7);
	q.order[0] = (struct nd_order_term){ND_ORDER_READ, true};
	list_all(f, f->t, q, &r);
	assert_int_not_equal(r.read_at[0], ND_NO_TIME);
	/* two terms: title, then routing time newest first */
	q.norder = 2;
	q.order[0] = (struct nd_order_term){ND_ORDER_TITLE, false};
	q.order[1] = (struct nd_order_term){ND_ORDER_STARTED, true};
	list_all(f, f->t, q, &r);
	assert_int_equal(r.key[0], keys[5]); /* "alpha", the newer one */
	assert_int_equal(r.key[3], keys[1]);
	check_order(f, q);
	check_paging(f, q, 2);
	/* three terms, mixed directions */
	q.norder = 3;
	q.order[0] = (struct nd_order_term){ND_ORDER_READ, false};
	q.order[1] = (struct nd_order_term){ND_ORDER_TYPE, true};
	q.order[2] = (struct nd_order_term){ND_ORDER_KEY, false};
	check_order(f, q);
	check_paging(f, q, 3);
}

/* More listing shapes than a connection keeps prepared (each backend keeps
 * the assembled statements it ran last), each asked twice: the statements
 * given back and prepared again answer the same. */
#define SHAPES (ND_ORDER__COUNT * 2 * 3)

static void test_list_statement_reuse(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	fx_make_list(f, keys);
	static struct items first[SHAPES];
	for (int pass = 0; pass < 2; pass++) {
		for (int s = 0; s < SHAPES; s++) {
			struct nd_list_query q = fx_lq();
			q.norder = 1;
			q.order[0] = (struct nd_order_term){(enum nd_order_key)(s / 6), s % 2};
			if (s / 2 % 3 == 1)
				q.campaign_id = "c1";
			else if (s / 2 % 3 == 2)
				q.type = "like";
			struct items r;
			size_t n = list_all(f, f->t, q, &r);
			if (pass == 0) {
				assert_true(n > 0);
				first[s] = r;
				continue;
			}
			assert_int_equal(n, first[s].n);
			for (size_t i = 0; i < n; i++)
				assert_string_equal(r.guid[i], first[s].guid[i]);
		}
	}
}

/* nd_store_list_plan is optional: a backend that has plans gives at least
 * one line; one that has none says ND_ERR_NOT_FOUND. */
static int plan_lines(void *arg, const char *line)
{
	assert_non_null(line);
	(*(size_t *)arg)++;
	return 0;
}

static void test_list_plan_optional(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	fx_make_list(f, keys);
	struct nd_list_query q = fx_lq();
	q.limit = 20;
	size_t n = 0;
	memset(&E, 0, sizeof E);
	enum nd_err e = nd_store_list_plan(f->c, f->t, &q, plan_lines, &n, &E);
	if (e == ND_OK) {
		assert_true(n > 0);
	} else {
		fx_check_error(&E, ND_ERR_NOT_FOUND, "nd_store_list_plan");
		assert_int_equal(n, 0);
	}
	printf("%s: nd_store_list_plan %s\n", fx_backend_name(),
	       e == ND_OK ? "gives plans" : "offers no plans");
	/* The listing itself works either way. */
	struct items r;
	assert_int_equal(list_all(f, f->t, q, &r), 12);
}

/* A callback returning non-zero stops its iteration at once, and the
 * operation returns that value (src/core/model.h). */
#define STOPPED 42

static int stop_item(void *arg, const struct nd_item *it)
{
	(void)it;
	(*(size_t *)arg)++;
	return STOPPED;
}

static int stop_plan(void *arg, const char *line)
{
	(void)line;
	(*(size_t *)arg)++;
	return STOPPED;
}

static int stop_segment(void *arg, const struct nd_segment *s)
{
	(void)s;
	(*(size_t *)arg)++;
	return STOPPED;
}

static void test_callbacks_stop(void **state)
{
	struct fx *f = *state;
	int32_t keys[6], id;
	fx_make_list(f, keys);
	struct nd_list_query q = fx_lq();
	q.limit = 20;
	size_t n = 0;
	int64_t total;
	assert_int_equal(nd_store_list(f->c, f->t, &q, stop_item, &n, &total, &E), STOPPED);
	assert_int_equal(n, 1);
	n = 0;
	enum nd_err e = nd_store_list_plan(f->c, f->t, &q, stop_plan, &n, &E);
	assert_true(e == STOPPED || e == ND_ERR_NOT_FOUND); /* a store may offer no plans */
	assert_int_equal(n, e == STOPPED ? 1 : 0);
	for (int i = 0; i < 3; i++)
		OK(nd_store_segment_create(f->c, f->t, "s", &id, &E));
	n = 0;
	assert_int_equal(nd_store_segment_list(f->c, f->t, stop_segment, &n, &E), STOPPED);
	assert_int_equal(n, 1);
}

/* --- errors --- */

/* Like FAILS, on an error struct left dirty by an earlier failure: the
 * store must fill it anew, field included. */
#define FAILS_DIRTY(want, call)                                                                    \
	do {                                                                                       \
		memset(&E, 0, sizeof E);                                                           \
		E.code = ND_ERR_INTERNAL;                                                          \
		snprintf(E.detail, sizeof E.detail, "stale detail");                               \
		snprintf(E.field, sizeof E.field, "stale_field");                                  \
		enum nd_err e_ = (call);                                                           \
		if (e_ != (want))                                                                  \
			fail_msg("%s -> %d (%s), want %d", #call, (int)e_, E.detail, (int)(want)); \
		fx_check_error(&E, (want), #call);                                                 \
		assert_string_not_equal(E.detail, "stale detail");                                 \
	} while (0)

/* Store errors are in store terms and never name a field: the service
 * layer decides which field a failure is about. */
static void test_errors_carry_no_field(void **state)
{
	struct fx *f = *state;
	int32_t keys[6];
	fx_make_list(f, keys);
	unsigned char h[ND_KEY_HASH_LEN], hx[ND_KEY_HASH_LEN];
	fx_hash("error-test-key-0123456789", h);
	fx_hash("error-test-unknown-0123456789", hx);
	OK(nd_store_key_put(f->c, f->t, h, ND_ROLE_ADMIN, NULL, KEY_TIME, false, &E));
	struct nd_principal p;
	int64_t id;
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_tenant_find(f->c, "ghost", &id, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_key_auth(f->c, hx, &p, &E));
	FAILS_DIRTY(ND_ERR_CONFLICT,
		    nd_store_key_put(f->c, f->t2, h, ND_ROLE_MEMBER, "u", KEY_TIME, false, &E));
	FAILS_DIRTY(ND_ERR_CONFLICT,
		    nd_store_key_put(f->c, f->t2, h, ND_ROLE_ADMIN, NULL, KEY_TIME, true, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_key_revoke(f->c, f->t, "0000000000000000", &E));
	struct target_copy g = {0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_target_get(f->c, f->t, "nobody", target_cb, &g, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_target_delete(f->c, f->t, "nobody", &E));
	struct seg_rows sr = {0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_segment_get(f->c, f->t, 9, seg_cb, &sr, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_segment_delete(f->c, f->t, 9, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_member_put(f->c, f->t, 9, "a", &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_member_delete(f->c, f->t, 9, "a", &E));
	struct camp_copy cc = {0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_campaign_get(f->c, f->t, "c9", camp_cb, &cc, &E));
	struct notif_copy nc = {0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_notification_get(f->c, f->t, 99, notif_cb, &nc, &E));
	struct nd_notification n = fx_notif("x");
	n.campaign_id = "c9";
	struct nd_recipients to = {NULL, 0, NULL, 0};
	struct nd_missing_ref miss = {ND_REF_NONE, 0};
	int64_t d;
	FAILS_DIRTY(ND_ERR_NOT_FOUND,
		    nd_store_notification_create(f->c, f->t, &n, &to, &d, &miss, &E));
	assert_int_equal(miss.kind, ND_REF_CAMPAIGN);
	const int32_t nine[] = {9};
	struct nd_recipients to9 = {NULL, 0, nine, 1};
	n = fx_notif("x");
	miss = (struct nd_missing_ref){ND_REF_NONE, 0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND,
		    nd_store_notification_create(f->c, f->t, &n, &to9, &d, &miss, &E));
	assert_int_equal(miss.kind, ND_REF_SEGMENT);
	assert_int_equal(miss.segment, 9);
	unsigned char guid[16] = {0};
	FAILS_DIRTY(ND_ERR_NOT_FOUND, nd_store_delivery_delete(f->c, f->t, guid, NULL, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND,
		    nd_store_event_record(f->c, f->t, "a", 99, ND_EV_READ, KEY_TIME, &E));
	FAILS_DIRTY(ND_ERR_NOT_FOUND,
		    nd_store_event_record(f->c, f->t, "nobody", keys[0], ND_EV_READ, KEY_TIME, &E));
	/* The optional plan, where a backend has none. */
	struct nd_list_query q = fx_lq();
	E = (struct nd_error){ND_ERR_INTERNAL, "stale detail", "stale_field"};
	size_t lines = 0;
	enum nd_err e = nd_store_list_plan(f->c, f->t, &q, plan_lines, &lines, &E);
	if (e != ND_OK)
		fx_check_error(&E, ND_ERR_NOT_FOUND, "nd_store_list_plan");
}

/* --- loading --- */

/* Loads one tenant: its counters as given, segments 1..@nsegs and
 * notifications 1..@nnotifs. */
static void load_tenant(struct fx *f, const char *name, int64_t next_key, int64_t next_segment,
			int32_t nsegs, int32_t nnotifs)
{
	struct nd_record rec = {.kind = ND_REC_TENANT, .tenant = name};
	rec.u.tenant.time_zone = "Europe/Paris";
	rec.u.tenant.next_notification_key = next_key;
	rec.u.tenant.next_segment_id = next_segment;
	rec.u.tenant.created_at = KEY_TIME;
	OK(nd_store_load(f->c, &rec, &E));
	for (int32_t i = 1; i <= nsegs; i++) {
		char sname[16];
		snprintf(sname, sizeof sname, "seg-%d", (int)i);
		rec = (struct nd_record){.kind = ND_REC_SEGMENT, .tenant = name};
		rec.u.segment.id = i;
		rec.u.segment.name = sname;
		rec.u.segment.created_at = KEY_TIME;
		OK(nd_store_load(f->c, &rec, &E));
	}
	for (int32_t i = 1; i <= nnotifs; i++) {
		rec = (struct nd_record){.kind = ND_REC_NOTIFICATION, .tenant = name};
		rec.u.notification = fx_notif("loaded");
		rec.u.notification.key = i;
		unsigned char bin[16];
		nd_guid_new(bin, rec.u.notification.guid);
		rec.u.notification.created_at = KEY_TIME;
		OK(nd_store_load(f->c, &rec, &E));
	}
}

/* A dump's counters may lag behind its rows (an older or hand-edited
 * file): a load raises them past every loaded key and id, never lowers
 * them, and the next creations take the next free values. */
static void test_load_counters(void **state)
{
	struct fx *f = *state;
	OK(nd_store_load_begin(f->c, &E));
	load_tenant(f, "behind", 2, 1, 2, 3); /* keys 1..3 loaded, next key 2 */
	load_tenant(f, "ahead", 10, 7, 1, 1); /* counters past the rows: kept */
	load_tenant(f, "empty", 5, 4, 0, 0);
	OK(nd_store_load_end(f->c, true, &E));

	int64_t behind, ahead, empty;
	OK(nd_store_tenant_find(f->c, "behind", &behind, &E));
	OK(nd_store_tenant_find(f->c, "ahead", &ahead, &E));
	OK(nd_store_tenant_find(f->c, "empty", &empty, &E));
	static const char *const tg[] = {"a"};
	int64_t d;
	assert_int_equal(send_to(f, behind, tg, 1, NULL, 0, 1000, &d), 4);
	assert_int_equal(d, 1);
	assert_int_equal(send_to(f, behind, tg, 1, NULL, 0, 1000, &d), 5);
	assert_int_equal(send_to(f, ahead, tg, 1, NULL, 0, 1000, &d), 10);
	assert_int_equal(send_to(f, empty, tg, 1, NULL, 0, 1000, &d), 5);
	int32_t id;
	OK(nd_store_segment_create(f->c, behind, "new", &id, &E));
	assert_int_equal(id, 3);
	OK(nd_store_segment_create(f->c, ahead, "new", &id, &E));
	assert_int_equal(id, 7);
	OK(nd_store_segment_create(f->c, empty, "new", &id, &E));
	assert_int_equal(id, 4);

	/* The loaded notifications are intact beside the new ones. */
	struct notif_copy c = {0};
	OK(nd_store_notification_get(f->c, behind, 2, notif_cb, &c, &E));
	assert_string_equal(c.libelle, "loaded");
	assert_int_equal(c.deliveries, 0);
	assert_int_equal(deliveries_of(f, behind, 4), 1);
}

/* A loaded target keeps the record's fields; attributes NULL means {}, as
 * for nd_store_target_put. */
static void test_load_target(void **state)
{
	struct fx *f = *state;
	OK(nd_store_load_begin(f->c, &E));
	load_tenant(f, "loaded", 1, 1, 0, 0);
	struct nd_record rec = {.kind = ND_REC_TARGET, .tenant = "loaded"};
	rec.u.target = (struct nd_target){.id = "bare", .name = "Bea"};
	rec.u.target.created_at = KEY_TIME;
	rec.u.target.updated_at = KEY_TIME + 1;
	OK(nd_store_load(f->c, &rec, &E));
	OK(nd_store_load_end(f->c, true, &E));

	int64_t t;
	OK(nd_store_tenant_find(f->c, "loaded", &t, &E));
	struct target_copy g = {0};
	OK(nd_store_target_get(f->c, t, "bare", target_cb, &g, &E));
	assert_int_equal(g.calls, 1);
	assert_string_equal(g.name, "Bea");
	assert_false(g.has_email);
	assert_string_equal(g.attributes, "{}");
	assert_int_equal(g.created_at, KEY_TIME);
	assert_int_equal(g.updated_at, KEY_TIME + 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void)
{
	fx_init(NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_unusable),
	    cmocka_unit_test(test_open_unreachable),
	    cmocka_unit_test(test_open_error_names_no_field),
	    T(test_open_ping),
	    T(test_conn_per_thread),
	    T(test_tenant_ensure),
	    T(test_tenant_find),
	    T(test_tenant_get_zone),
	    T(test_keys),
	    T(test_targets),
	    T(test_segments),
	    T(test_members),
	    T(test_target_segments),
	    T(test_campaigns),
	    T(test_notification_create),
	    T(test_notification_segments),
	    T(test_notification_unknown_refs),
	    T(test_feed_order),
	    T(test_feed_many_notifications),
	    T(test_feed_window),
	    T(test_feed_limit_and_cursor),
	    T(test_events),
	    T(test_reopen),
	    T(test_concurrent_writers),
	    T(test_two_stores),
	    T(test_read_scope),
	    T(test_big_notification),
	    T(test_read_key),
	    T(test_read_key_unused),
	    T(test_list_filters),
	    T(test_list_counters),
	    T(test_list_orders),
	    T(test_list_statement_reuse),
	    T(test_list_plan_optional),
	    T(test_callbacks_stop),
	    T(test_errors_carry_no_field),
	    T(test_load_counters),
	    T(test_load_target),
	};
	return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
