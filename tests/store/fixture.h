/* fixture.h - what the store test programs share: the backend under test,
 * a fresh database per test, the OK/FAILS checks and a few row builders.
 *
 * The backend is chosen at run time: NOTIFD_TEST_BACKEND=sqlite (the
 * default) gives each test a new SQLite file; NOTIFD_TEST_BACKEND=postgres
 * gives each test a new database on the server whose admin conninfo is in
 * NOTIFD_TEST_PG, dropped after the test. Without a reachable server the
 * program says so loudly and exits 77, which meson reports as skipped. */
#ifndef ND_TESTS_STORE_FIXTURE_H
#define ND_TESTS_STORE_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "store/store.h"

/* The error of the last OK or FAILS check. */
extern struct nd_error E;

#define OK(call)                                                                                   \
	do {                                                                                       \
		memset(&E, 0, sizeof E);                                                           \
		enum nd_err e_ = (call);                                                           \
		if (e_ != ND_OK)                                                                   \
			fail_msg("%s -> %d (%s)", #call, (int)e_, E.detail);                       \
	} while (0)

/* A store error is the code asked for, names what failed in its detail and
 * never names a field (store.h: the service layer maps errors to fields). */
#define FAILS(want, call)                                                                          \
	do {                                                                                       \
		memset(&E, 0, sizeof E);                                                           \
		enum nd_err e_ = (call);                                                           \
		if (e_ != (want))                                                                  \
			fail_msg("%s -> %d (%s), want %d", #call, (int)e_, E.detail, (int)(want)); \
		fx_check_error(&E, (want), #call);                                                 \
	} while (0)

#define KEY_TIME INT64_C(1566656122000)

enum fx_backend { FX_SQLITE, FX_POSTGRES };

#define FX_URI_MAX   1024
#define FX_EXTRA_MAX 4

struct fx {
	char uri[FX_URI_MAX]; /* what nd_store_open is given */
	char dbname[64];      /* PostgreSQL: this test's database */
	struct nd_store *s;
	struct nd_store_conn *c;
	struct nd_store *extra[FX_EXTRA_MAX]; /* more stores on the same database */
	int64_t t;                            /* tenant "default" */
	int64_t t2;                           /* tenant "other" */
};

/* Chooses the backend: @forced ("sqlite", "postgres") or else
 * NOTIFD_TEST_BACKEND, and checks it can be used. Exits 77 after a loud
 * message when PostgreSQL is asked for and unavailable. Call first. */
void fx_init(const char *forced);
enum fx_backend fx_backend(void);
/* "sqlite" or "postgres", as nd_store_backend() names them. */
const char *fx_backend_name(void);
/* The SQLite run's directory, removed by fx_group_teardown. */
const char *fx_tmpdir(void);

int fx_group_setup(void **state);
int fx_group_teardown(void **state);
/* A new database for the test, opened, with tenants "default" and "other". */
int fx_setup(void **state);
/* Frees every store of the test and drops its database. */
int fx_teardown(void **state);

/* A new SQLite file name in the run's directory (nothing is created). */
void fx_sqlite_path(char *out, size_t n);
/* Closes the test's store and opens the same database again. */
void fx_reopen(struct fx *f, const struct nd_store_opts *opts);
/* Opens another store on the test's database, as a second notifd process
 * would; fx_teardown frees it. */
struct nd_store *fx_open_extra(struct fx *f);

/* A database setting for the open tests: @uri, text a failure detail names
 * (one of @names; "" for none), and a secret it must never show (NULL:
 * none). */
struct fx_unusable {
	char uri[FX_URI_MAX];
	char names[2][FX_URI_MAX];
	const char *secret;
};
#define FX_CASES_MAX 4
/* Settings nd_store_open must refuse on this backend (a SQLite path that
 * cannot be created, a PostgreSQL string libpq cannot parse); fills @out
 * (FX_CASES_MAX) and returns how many. */
size_t fx_unusable_uris(struct fx_unusable *out, size_t max);
/* PostgreSQL databases that cannot be reached now (no server, no such
 * database); none for SQLite. */
size_t fx_unreachable_uris(struct fx_unusable *out, size_t max);

/* Checks that nd_store_open(@uri) fails, leaving its out-parameter alone,
 * with a detail naming @name or @alt (NULL: no second name; "": no name)
 * and never showing @secret (NULL: none); the error goes to @out (NULL:
 * nowhere). Whether it names a field is left to the caller. */
void fx_open_fails(const char *uri, const char *name, const char *alt, const char *secret,
		   struct nd_error *out);
/* An nd_item_cb counting rows into the size_t at @arg. */
int fx_count_item(void *arg, const struct nd_item *it);

/* Checks a failure's struct nd_error: code @want, a detail, no field. */
void fx_check_error(const struct nd_error *err, enum nd_err want, const char *what);

void fx_sleep_ms(long ms);
void fx_hash(const char *key, unsigned char h[ND_KEY_HASH_LEN]);
/* A notification with only a title; dates unset. */
struct nd_notification fx_notif(const char *libelle);
/* A list query with no filter. */
struct nd_list_query fx_lq(void);
/* Tenant "default": campaigns c1 and c2, and six notifications to targets
 * a, b, c with three types, routed a minute apart from KEY_TIME (12
 * deliveries); @keys receives their keys. */
void fx_make_list(struct fx *f, int32_t keys[6]);

#endif
