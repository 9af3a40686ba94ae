/* test_listsql.c - the listing's query text (src/store/listsql.c): a shape
 * stands for exactly one text, since the SQLite backend keeps its prepared
 * statements by shape and would otherwise run one query's statement for
 * another. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store/listsql.h"
#include "util/time.h"

struct seen {
	uint64_t shape;
	uint64_t text; /* FNV-1a of the text */
};

static int by_shape(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;
	return x->shape < y->shape ? -1 : x->shape > y->shape;
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 14695981039346656037u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Whether @sql names a column of the notifications (alias n). */
static bool names_n(const char *sql)
{
	for (const char *p = sql; (p = strstr(p, "n.")); p++)
		if (p == sql || !(isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			return true;
	return false;
}

/* The query with filter bits @flags and order terms @terms[0..n). */
static struct nd_list_query query(unsigned flags, const int *terms, size_t n)
{
	struct nd_list_query q;
	memset(&q, 0, sizeof q);
	q.by_guid = flags & 1;
	q.by_key = flags & 2;
	q.started_from = flags & 4 ? 1 : ND_NO_TIME;
	q.completed_from = flags & 8 ? 1 : ND_NO_TIME;
	q.campaign_id = flags & 16 ? "c" : NULL;
	q.member = flags & 32 ? "m" : NULL;
	q.type = flags & 64 ? "t" : NULL;
	q.norder = n;
	for (size_t i = 0; i < n; i++)
		q.order[i] = (struct nd_order_term){(enum nd_order_key)(terms[i] / 2), terms[i] % 2};
	return q;
}

/* Every filter combination with no order, one term, and two terms, of each
 * kind: equal shapes have equal texts; a page names the notifications'
 * columns exactly when nd_listsql_reads_notifications() says it does. */
static void check_dialect(const struct nd_listsql_dialect *d)
{
	const int nterm = ND_ORDER__COUNT * 2;
	size_t max = 3 * 128 * (1 + nterm + nterm * nterm), n = 0;
	struct seen *all = malloc(max * sizeof *all);
	assert_non_null(all);
	for (int kind = 0; kind < 3; kind++)
		for (unsigned flags = 0; flags < 128; flags++)
			for (int a = -1; a < nterm; a++)
				for (int b = -1; b < (a < 0 ? 0 : nterm); b++) {
					int terms[2] = {a, b};
					size_t nt = a < 0 ? 0 : b < 0 ? 1 : 2;
					struct nd_list_query q = query(flags, terms, nt);
					struct nd_buf sql = ND_BUF_INIT;
					if (kind == ND_LS_COUNT)
						nd_listsql_count(&sql, d, &q);
					else
						nd_listsql_page(&sql, d, &q, kind == ND_LS_PLAN
										 ? "EXPLAIN SELECT 1"
										 : "SELECT 1");
					if (kind == ND_LS_PAGE &&
					    names_n(nd_buf_str(&sql)) !=
						nd_listsql_reads_notifications(d, &q))
						fail_msg("reads_notifications wrong for %s",
							 nd_buf_str(&sql));
					all[n++] = (struct seen){
					    nd_listsql_shape(&q, (enum nd_listsql_kind)kind),
					    fnv(nd_buf_str(&sql))};
					nd_buf_release(&sql);
				}
	assert_int_equal(n, max);
	qsort(all, n, sizeof *all, by_shape);
	for (size_t i = 1; i < n; i++)
		if (all[i].shape == all[i - 1].shape && all[i].text != all[i - 1].text)
			fail_msg("shape %llx stands for two texts", (unsigned long long)all[i].shape);
	free(all);
}

static void test_shape_names_one_text(void **state)
{
	(void)state;
	const struct nd_listsql_dialect sqlite = {
	    .mark = '?',
	    .notification_time = true,
	    .type_order = "n.type_key",
	    .type_filter = " AND n.type_key = 'T' || ?10",
	    .tenant_total = "T",
	    .member_total = "M",
	};
	const struct nd_listsql_dialect postgres = {
	    .mark = '$',
	    .spell_nulls = true,
	    .type_order = "n.type",
	    .type_filter = " AND n.type = $10",
	    .tenant_total = "T",
	    .member_total = "M",
	};
	check_dialect(&sqlite);
	check_dialect(&postgres);
}

/* Queries that differ in what the text depends on differ in shape. */
static void test_shapes_differ(void **state)
{
	(void)state;
	const int ab[2] = {2, 3}, ba[2] = {3, 2};
	struct nd_list_query q1 = query(0, ab, 2), q2 = query(0, ba, 2), q3 = query(0, ab, 1);
	assert_true(nd_listsql_shape(&q1, ND_LS_PAGE) != nd_listsql_shape(&q2, ND_LS_PAGE));
	assert_true(nd_listsql_shape(&q1, ND_LS_PAGE) != nd_listsql_shape(&q3, ND_LS_PAGE));
	assert_true(nd_listsql_shape(&q1, ND_LS_PAGE) != nd_listsql_shape(&q1, ND_LS_PLAN));
	for (unsigned f = 0; f < 7; f++) {
		struct nd_list_query a = query(0, ab, 0), b = query(1u << f, ab, 0);
		assert_true(nd_listsql_shape(&a, ND_LS_COUNT) != nd_listsql_shape(&b, ND_LS_COUNT));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shape_names_one_text),
	    cmocka_unit_test(test_shapes_differ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
