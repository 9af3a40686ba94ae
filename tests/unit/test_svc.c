/* test_svc.c - the service layer enforces who may do what by itself,
 * whatever calls it (src/svc/svc.h): the HTTP layer checks access before
 * a body is read, but a face or a command that forgot to must still be
 * refused, and a refused call changes nothing. Runs on a real SQLite file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/keys.h"
#include "store/store.h"
#include "svc/svc.h"

struct fx {
	char dir[64];
	struct nd_store *store;
	struct nd_store_conn *db;
	struct nd_principal admin, member;
	struct nd_error err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/notifd-test-svc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[96];
	snprintf(path, sizeof path, "%s/svc.db", f->dir);
	struct nd_store_opts opts = {0};
	assert_int_equal(nd_store_open(path, &opts, &f->store, &f->err), ND_OK);
	assert_int_equal(nd_store_conn(f->store, &f->db, &f->err), ND_OK);
	assert_int_equal(nd_svc_operator(f->db, "t", &f->admin, &f->err), ND_OK);
	struct nd_call c = {f->db, &f->admin, &f->err};
	struct nd_target alice = {.id = "alice", .attributes = "{}"};
	bool created;
	assert_int_equal(nd_svc_target_put(&c, &alice, &created), ND_OK);
	f->member = f->admin;
	f->member.role = ND_ROLE_MEMBER;
	snprintf(f->member.target, sizeof f->member.target, "alice");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	nd_store_free(f->store);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A row counter for each kind of callback. */
#define COUNTER(name, row_type)                                                                  \
	static int name(void *arg, row_type row)                                                 \
	{                                                                                        \
		(void)row;                                                                       \
		++*(int *)arg;                                                                   \
		return 0;                                                                        \
	}
COUNTER(count_keys, const struct nd_key_row *)
COUNTER(count_tenants, const struct nd_tenant *)
COUNTER(count_targets, const struct nd_target *)
COUNTER(count_segments, const struct nd_segment *)
COUNTER(count_segment_ids, int32_t)
COUNTER(count_campaigns, const struct nd_campaign *)
COUNTER(count_notifications, const struct nd_notification *)
COUNTER(count_deliveries, const struct nd_delivery *)
COUNTER(count_items, const struct nd_item *)

static void refused(struct fx *f, enum nd_err e)
{
	assert_int_equal(e, ND_ERR_FORBIDDEN);
	assert_true(f->err.detail[0] != '\0');
	f->err = (struct nd_error){0};
}

static void test_member_refused_admin_operations(void **state)
{
	struct fx *f = *state;
	struct nd_call c = {f->db, &f->member, &f->err};
	int n = 0;
	bool created;
	int32_t id;
	struct nd_target bob = {.id = "bob", .attributes = "{}"};
	struct nd_campaign cp = {.id = "spring", .name = "Spring"};
	refused(f, nd_svc_target_put(&c, &bob, &created));
	refused(f, nd_svc_target_get(&c, "alice", count_targets, &n));
	refused(f, nd_svc_target_delete(&c, "alice"));
	refused(f, nd_svc_segment_create(&c, "s", &id));
	refused(f, nd_svc_segment_list(&c, count_segments, &n));
	refused(f, nd_svc_segment_get(&c, 1, count_segments, &n));
	refused(f, nd_svc_segment_delete(&c, 1));
	refused(f, nd_svc_member_put(&c, 1, "alice"));
	refused(f, nd_svc_member_delete(&c, 1, "alice"));
	refused(f, nd_svc_campaign_put(&c, &cp, &created));
	refused(f, nd_svc_campaign_get(&c, "spring", count_campaigns, &n));
	refused(f, nd_svc_tenant_get(&c, count_tenants, &n));
	refused(f, nd_svc_tenant_set_zone(&c, "Europe/Paris"));
	struct nd_new_key k;
	refused(f, nd_svc_key_create(&c, ND_ROLE_ADMIN, NULL, &k));
	refused(f, nd_svc_key_list(&c, count_keys, &n));
	refused(f, nd_svc_key_revoke(&c, "0123456789abcdef"));
	struct nd_notification note = {.libelle = "x", .screen_names = "[]",
				       .date_started = ND_NO_TIME, .date_due = ND_NO_TIME};
	const char *to[] = {"alice"};
	struct nd_recipients rcpt = {.targets = to, .ntargets = 1};
	int64_t made;
	refused(f, nd_svc_notification_create(&c, &note, &rcpt, &made));
	refused(f, nd_svc_notification_get(&c, 1, count_notifications, &n));
	struct nd_list_query q = {.started_from = ND_NO_TIME, .completed_from = ND_NO_TIME};
	int64_t total;
	refused(f, nd_svc_list(&c, &q, count_items, &n, &total));
	assert_int_equal(n, 0);
	/* Nothing was made: bob is unknown to the admin too. */
	struct nd_call a = {f->db, &f->admin, &f->err};
	assert_int_equal(nd_svc_target_get(&a, "bob", count_targets, &n), ND_ERR_NOT_FOUND);
}

static void test_member_limited_to_its_target(void **state)
{
	struct fx *f = *state;
	struct nd_call c = {f->db, &f->member, &f->err};
	int n = 0;
	struct nd_feed_query q = {.target = "bob", .start = ND_NO_TIME, .end = ND_NO_TIME,
				  .after_at = ND_NO_TIME};
	refused(f, nd_svc_feed(&c, &q, count_deliveries, &n));
	refused(f, nd_svc_event_record(&c, "bob", 1, ND_EV_IMPRESSION, ND_NO_TIME));
	refused(f, nd_svc_target_segments(&c, "bob", count_segment_ids, &n));
	/* Its own target: allowed (and empty). */
	q.target = "alice";
	assert_int_equal(nd_svc_feed(&c, &q, count_deliveries, &n), ND_OK);
	assert_int_equal(nd_svc_target_segments(&c, "alice", count_segment_ids, &n), ND_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_member_refused_admin_operations, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_member_limited_to_its_target, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
