/* store.c - picks the storage backend from the database setting and
 * dispatches every nd_store_* call to its table of operations.
 *
 * "postgres://", "postgresql://" or a libpq keyword string ("host=/run/pg
 * dbname=notifd") name a PostgreSQL database; anything else is the path of
 * a SQLite file. */
#include "store/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/ids.h"
#include "util/buf.h"
#include "util/time.h"

bool nd_store_is_postgres(const char *uri)
{
	if (strncmp(uri, "postgres://", 11) == 0 || strncmp(uri, "postgresql://", 13) == 0)
		return true;
	/* libpq's own rule, narrowed so that a file path with '=' in it stays a
	 * path: a keyword string starts with a keyword, a bare word of
	 * lower-case letters and '_', followed by '=' (spaces allowed). A word
	 * libpq does not know is then refused when the store opens, rather than
	 * taken for a file name that holds a password. */
	uri += strspn(uri, " \t\n\r\f\v");
	size_t word = strspn(uri, "abcdefghijklmnopqrstuvwxyz_");
	if (word == 0)
		return false;
	uri += word;
	uri += strspn(uri, " \t\n\r\f\v");
	return *uri == '=';
}

/* The end of a libpq keyword value starting at @p: a single-quoted value
 * (with \\ escapes) or a run of non-space characters. */
static const char *value_end(const char *p)
{
	if (*p != '\'')
		return p + strcspn(p, " \t\n\r\f\v");
	for (p++; *p && *p != '\''; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p ? p + 1 : p;
}

/* Copies a keyword string, every password value replaced. */
static void redact_keywords(struct nd_buf *b, const char *p)
{
	while (*p) {
		const char *start = p;
		p += strspn(p, " \t\n\r\f\v");
		const char *word = p;
		p += strcspn(p, "= \t\n\r\f\v");
		size_t wlen = (size_t)(p - word);
		p += strspn(p, " \t\n\r\f\v");
		if (*p != '=') { /* not a keyword string after all: keep the rest */
			nd_buf_puts(b, start);
			return;
		}
		p++;
		p += strspn(p, " \t\n\r\f\v");
		const char *end = value_end(p);
		nd_buf_add(b, start, (size_t)(p - start));
		if (wlen == 8 && strncmp(word, "password", 8) == 0)
			nd_buf_puts(b, "***");
		else
			nd_buf_add(b, p, (size_t)(end - p));
		p = end;
	}
}

/* Whether the @n bytes at @p, percent-decoded, say "password" (in any
 * case). A broken escape or an encoded NUL says nothing. */
static bool is_password_key(const char *p, size_t n)
{
	/* "password" escaped whole is 24 bytes: anything longer is not it. */
	char key[3 * 8 + 1];
	if (n > sizeof key - 1)
		return false;
	long len = nd_pct_decode(p, n, key, false);
	return len == 8 && strcasecmp(key, "password") == 0;
}

/* Copies a postgres:// URI, the password of its user part and of its
 * query parameters replaced. The user part ends at the last '@' before the
 * query, so a password holding '@' or '/' is hidden whole. */
static void redact_uri(struct nd_buf *b, const char *p)
{
	const char *auth = strstr(p, "://") + 3;
	const char *query = auth + strcspn(auth, "?#");
	const char *at = NULL;
	for (const char *q = auth; q < query; q++)
		if (*q == '@')
			at = q;
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon) {
		nd_buf_add(b, p, (size_t)(colon + 1 - p));
		nd_buf_puts(b, "***");
		p = at;
	}
	nd_buf_add(b, p, (size_t)(query - p));
	p = query;
	/* Query parameters: key=value pairs after '?', separated by '&'. */
	while (*p == '?' || *p == '&') {
		nd_buf_putc(b, *p++);
		size_t pair = strcspn(p, "&#");
		const char *eq = memchr(p, '=', pair);
		if (eq && is_password_key(p, (size_t)(eq - p))) {
			nd_buf_add(b, p, (size_t)(eq + 1 - p));
			nd_buf_puts(b, "***");
		} else {
			nd_buf_add(b, p, pair);
		}
		p += pair;
	}
	nd_buf_puts(b, p);
}

void nd_store_redact(const char *uri, char *out, size_t n)
{
	struct nd_buf b = ND_BUF_INIT;
	if (!nd_store_is_postgres(uri))
		nd_buf_puts(&b, uri);
	else if (strstr(uri, "://"))
		redact_uri(&b, uri);
	else
		redact_keywords(&b, uri);
	snprintf(out, n, "%s", nd_buf_str(&b));
	nd_buf_release(&b);
}

enum nd_err nd_store_open(const char *uri, const struct nd_store_opts *opts,
			  struct nd_store **out, struct nd_error *err)
{
	static const struct nd_store_opts defaults = {
	    .sqlite = {.sync_full = true, .mmap_size = ND_MMAP_SIZE_DEFAULT}};
	if (!opts)
		opts = &defaults;
	if (nd_store_is_postgres(uri))
		return nd_postgres_open(uri, opts, out, err);
	if (uri[0] == '\0')
		return nd_fail(err, ND_ERR_INVALID_PARAM, NULL, "cannot open database: empty path");
	return nd_sqlite_open(uri, opts, out, err);
}

void nd_store_free(struct nd_store *s)
{
	if (s)
		s->ops->free(s);
}

const char *nd_store_backend(const struct nd_store *s)
{
	return s->ops->name;
}

enum nd_err nd_store_conn(struct nd_store *s, struct nd_store_conn **out, struct nd_error *err)
{
	return s->ops->conn(s, out, err);
}

bool nd_store_abandon_tx(struct nd_store_conn *c)
{
	return c->ops->abandon_tx(c);
}

enum nd_err nd_store_read_begin(struct nd_store_conn *c, struct nd_error *err)
{
	return c->ops->read_begin ? c->ops->read_begin(c, err) : ND_OK;
}

enum nd_err nd_store_read_end(struct nd_store_conn *c, bool *stale, struct nd_error *err)
{
	*stale = false;
	return c->ops->read_end ? c->ops->read_end(c, stale, err) : ND_OK;
}

enum nd_err nd_store_ping(struct nd_store_conn *c, struct nd_error *err)
{
	return c->ops->ping(c, err);
}

enum nd_err nd_store_tenant_ensure(struct nd_store_conn *c, const char *name,
				   int64_t *tenant_id, struct nd_error *err)
{
	return c->ops->tenant_ensure(c, name, tenant_id, err);
}

enum nd_err nd_store_tenant_find(struct nd_store_conn *c, const char *name, int64_t *tenant_id,
				 struct nd_error *err)
{
	return c->ops->tenant_find(c, name, tenant_id, err);
}

enum nd_err nd_store_tenant_get(struct nd_store_conn *c, int64_t tenant_id, nd_tenant_cb cb,
				void *arg, struct nd_error *err)
{
	return c->ops->tenant_get(c, tenant_id, cb, arg, err);
}

enum nd_err nd_store_tenant_set_zone(struct nd_store_conn *c, int64_t tenant_id,
				     const char *zone, struct nd_error *err)
{
	return c->ops->tenant_set_zone(c, tenant_id, zone, err);
}

enum nd_err nd_store_key_put(struct nd_store_conn *c, int64_t tenant_id,
			     const unsigned char hash[ND_KEY_HASH_LEN], enum nd_role role,
			     const char *target, int64_t created_at, bool ensure,
			     struct nd_error *err)
{
	return c->ops->key_put(c, tenant_id, hash, role, target, created_at, ensure, err);
}

enum nd_err nd_store_key_auth(struct nd_store_conn *c, const unsigned char hash[ND_KEY_HASH_LEN],
			      struct nd_principal *out, struct nd_error *err)
{
	return c->ops->key_auth(c, hash, out, err);
}

enum nd_err nd_store_key_list(struct nd_store_conn *c, int64_t tenant_id, nd_key_cb cb,
			      void *arg, struct nd_error *err)
{
	return c->ops->key_list(c, tenant_id, cb, arg, err);
}

enum nd_err nd_store_key_revoke(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				struct nd_error *err)
{
	return c->ops->key_revoke(c, tenant_id, id, err);
}

enum nd_err nd_store_target_put(struct nd_store_conn *c, int64_t tenant_id,
				struct nd_target *t, bool *created, struct nd_error *err)
{
	return c->ops->target_put(c, tenant_id, t, created, err);
}

enum nd_err nd_store_target_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				nd_target_cb cb, void *arg, struct nd_error *err)
{
	return c->ops->target_get(c, tenant_id, id, cb, arg, err);
}

enum nd_err nd_store_target_delete(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				   struct nd_error *err)
{
	return c->ops->target_delete(c, tenant_id, id, err);
}

enum nd_err nd_store_segment_create(struct nd_store_conn *c, int64_t tenant_id,
				    const char *name, int32_t *id, struct nd_error *err)
{
	return c->ops->segment_create(c, tenant_id, name, id, err);
}

enum nd_err nd_store_segment_list(struct nd_store_conn *c, int64_t tenant_id, nd_segment_cb cb,
				  void *arg, struct nd_error *err)
{
	return c->ops->segment_list(c, tenant_id, cb, arg, err);
}

enum nd_err nd_store_segment_get(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				 nd_segment_cb cb, void *arg, struct nd_error *err)
{
	return c->ops->segment_get(c, tenant_id, id, cb, arg, err);
}

enum nd_err nd_store_segment_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t id,
				    struct nd_error *err)
{
	return c->ops->segment_delete(c, tenant_id, id, err);
}

enum nd_err nd_store_member_put(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				const char *target, struct nd_error *err)
{
	return c->ops->member_put(c, tenant_id, segment, target, err);
}

enum nd_err nd_store_member_delete(struct nd_store_conn *c, int64_t tenant_id, int32_t segment,
				   const char *target, struct nd_error *err)
{
	return c->ops->member_delete(c, tenant_id, segment, target, err);
}

enum nd_err nd_store_target_segments(struct nd_store_conn *c, int64_t tenant_id,
				     const char *target, nd_segment_id_cb cb, void *arg,
				     struct nd_error *err)
{
	return c->ops->target_segments(c, tenant_id, target, cb, arg, err);
}

enum nd_err nd_store_campaign_put(struct nd_store_conn *c, int64_t tenant_id,
				  struct nd_campaign *cp, bool *created, struct nd_error *err)
{
	return c->ops->campaign_put(c, tenant_id, cp, created, err);
}

enum nd_err nd_store_campaign_get(struct nd_store_conn *c, int64_t tenant_id, const char *id,
				  nd_campaign_cb cb, void *arg, struct nd_error *err)
{
	return c->ops->campaign_get(c, tenant_id, id, cb, arg, err);
}

enum nd_err nd_store_notification_create(struct nd_store_conn *c, int64_t tenant_id,
					 struct nd_notification *n,
					 const struct nd_recipients *to,
					 int64_t *deliveries, struct nd_missing_ref *miss,
					 struct nd_error *err)
{
	*miss = (struct nd_missing_ref){ND_REF_NONE, 0};
	if (n->date_started == ND_NO_TIME)
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "notification without date_started");
	return c->ops->notification_create(c, tenant_id, n, to, deliveries, miss, err);
}

enum nd_err nd_store_notification_get(struct nd_store_conn *c, int64_t tenant_id, int32_t key,
				      nd_notification_cb cb, void *arg, struct nd_error *err)
{
	return c->ops->notification_get(c, tenant_id, key, cb, arg, err);
}

enum nd_err nd_store_feed(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_feed_query *q, nd_delivery_cb cb, void *arg,
			  struct nd_error *err)
{
	return c->ops->feed(c, tenant_id, q, cb, arg, err);
}

enum nd_err nd_store_list(struct nd_store_conn *c, int64_t tenant_id,
			  const struct nd_list_query *q, nd_item_cb cb, void *arg, int64_t *total,
			  struct nd_error *err)
{
	return c->ops->list(c, tenant_id, q, cb, arg, total, err);
}

enum nd_err nd_store_list_plan(struct nd_store_conn *c, int64_t tenant_id,
			       const struct nd_list_query *q, nd_plan_cb cb, void *arg,
			       struct nd_error *err)
{
	if (!c->ops->list_plan)
		return nd_fail(err, ND_ERR_NOT_FOUND, NULL, "%s offers no query plans",
			       c->ops->name);
	return c->ops->list_plan(c, tenant_id, q, cb, arg, err);
}

enum nd_err nd_store_delivery_delete(struct nd_store_conn *c, int64_t tenant_id,
				     const unsigned char guid[16], const char *owner,
				     struct nd_error *err)
{
	return c->ops->delivery_delete(c, tenant_id, guid, owner, err);
}

enum nd_err nd_store_event_record(struct nd_store_conn *c, int64_t tenant_id,
				  const char *target, int32_t key, enum nd_event ev, int64_t at,
				  struct nd_error *err)
{
	if ((unsigned)ev >= ND_EV__COUNT)
		return nd_fail(err, ND_ERR_INTERNAL, NULL, "unknown event %d", (int)ev);
	return c->ops->event_record(c, tenant_id, target, key, ev, at, err);
}

enum nd_err nd_store_dump(struct nd_store_conn *c, const char *tenant, nd_record_cb cb,
			  void *arg, struct nd_error *err)
{
	return c->ops->dump(c, tenant, cb, arg, err);
}

enum nd_err nd_store_load_begin(struct nd_store_conn *c, struct nd_error *err)
{
	return c->ops->load_begin(c, err);
}

enum nd_err nd_store_load(struct nd_store_conn *c, const struct nd_record *rec,
			  struct nd_error *err)
{
	return c->ops->load(c, rec, err);
}

enum nd_err nd_store_load_end(struct nd_store_conn *c, bool commit, struct nd_error *err)
{
	return c->ops->load_end(c, commit, err);
}

enum nd_err nd_key_existing(bool same_ok, bool revoked, struct nd_error *err)
{
	if (!same_ok)
		return nd_fail(err, ND_ERR_CONFLICT, NULL, "key hash already stored");
	if (revoked)
		return nd_fail(err, ND_ERR_FORBIDDEN, NULL, "key was revoked");
	return ND_OK;
}
