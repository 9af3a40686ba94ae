/* dump.c - `notifd export` and `notifd import`: tenants as JSON lines.
 *
 * The first line is a header, {"record":"notifd-export","version":1}; each
 * further line is one record of core/model.h, its kind in "record". Times
 * are integer Unix milliseconds, so nothing is rounded on the way; key
 * hashes travel as hex (keys themselves are never stored anywhere). The
 * format is the same whatever the backend, which is what makes it the way
 * from SQLite to PostgreSQL and back. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ids.h"
#include "svc/svc_int.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#define FORMAT_VERSION 1
#define PROGRESS_EVERY 10000

static const char *const kind_names[ND_REC__COUNT] = {
	[ND_REC_TENANT] = "tenant",	     [ND_REC_KEY] = "key",
	[ND_REC_TARGET] = "target",	     [ND_REC_SEGMENT] = "segment",
	[ND_REC_MEMBERSHIP] = "membership", [ND_REC_CAMPAIGN] = "campaign",
	[ND_REC_NOTIFICATION] = "notification", [ND_REC_DELIVERY] = "delivery",
};

/* --- writing --- */

static void put_str(struct nd_buf *b, const char *name, const char *v)
{
	nd_buf_json_member(b, name);
	nd_buf_json_str_or_null(b, v);
}

static void put_int(struct nd_buf *b, const char *name, int64_t v)
{
	nd_buf_json_member(b, name);
	nd_buf_json_int(b, v);
}

static void put_time(struct nd_buf *b, const char *name, int64_t v)
{
	nd_buf_json_member(b, name);
	if (v == ND_NO_TIME)
		nd_buf_puts(b, "null");
	else
		nd_buf_json_int(b, v);
}

/* @json is JSON text the store keeps verbatim (written by jansson). */
static void put_raw(struct nd_buf *b, const char *name, const char *json, const char *empty)
{
	nd_buf_json_member(b, name);
	nd_buf_puts(b, json ? json : empty);
}

static void put_guid(struct nd_buf *b, const char *name, const unsigned char g[16])
{
	char text[ND_GUID_LEN + 1];
	nd_guid_format(g, text);
	put_str(b, name, text);
}

static void write_record(struct nd_buf *b, const struct nd_record *r)
{
	nd_buf_printf(b, "{\"record\":\"%s\"", kind_names[r->kind]);
	put_str(b, "tenant", r->tenant);
	switch (r->kind) {
	case ND_REC_TENANT:
		put_str(b, "time_zone", r->u.tenant.time_zone);
		put_int(b, "next_notification_key", r->u.tenant.next_notification_key);
		put_int(b, "next_segment_id", r->u.tenant.next_segment_id);
		put_int(b, "created_at", r->u.tenant.created_at);
		break;
	case ND_REC_KEY: {
		char hex[ND_KEY_HASH_LEN * 2 + 1];
		sodium_bin2hex(hex, sizeof hex, r->u.key.hash, ND_KEY_HASH_LEN);
		put_str(b, "hash", hex);
		put_str(b, "role", nd_role_name(r->u.key.role));
		put_str(b, "target", r->u.key.target);
		put_int(b, "created_at", r->u.key.created_at);
		put_time(b, "revoked_at", r->u.key.revoked_at);
		break;
	}
	case ND_REC_TARGET:
		put_str(b, "id", r->u.target.id);
		put_str(b, "name", r->u.target.name);
		put_str(b, "email", r->u.target.email);
		put_str(b, "profile", r->u.target.profile);
		put_raw(b, "attributes", r->u.target.attributes, "{}");
		put_int(b, "created_at", r->u.target.created_at);
		put_int(b, "updated_at", r->u.target.updated_at);
		break;
	case ND_REC_SEGMENT:
		put_int(b, "id", r->u.segment.id);
		put_str(b, "name", r->u.segment.name);
		put_int(b, "created_at", r->u.segment.created_at);
		break;
	case ND_REC_MEMBERSHIP:
		put_int(b, "segment", r->u.membership.segment);
		put_str(b, "target", r->u.membership.target);
		put_int(b, "created_at", r->u.membership.created_at);
		break;
	case ND_REC_CAMPAIGN:
		put_str(b, "id", r->u.campaign.id);
		put_str(b, "name", r->u.campaign.name);
		put_int(b, "created_at", r->u.campaign.created_at);
		put_int(b, "updated_at", r->u.campaign.updated_at);
		break;
	case ND_REC_NOTIFICATION: {
		const struct nd_notification *n = &r->u.notification;
		put_int(b, "notification_key", n->key);
		put_str(b, "id", n->guid);
		put_str(b, "libelle", n->libelle);
		put_str(b, "body", n->body);
		put_str(b, "url", n->url);
		put_str(b, "type", n->type);
		put_int(b, "action_type", n->action_type);
		put_str(b, "campaign_id", n->campaign_id);
		put_str(b, "profile", n->profile);
		put_raw(b, "screen_name", n->screen_names, "[]");
		put_str(b, "batch", n->batch);
		put_time(b, "date_started", n->date_started);
		put_time(b, "date_due", n->date_due);
		put_int(b, "created_at", n->created_at);
		break;
	}
	case ND_REC_DELIVERY:
		put_str(b, "target", r->u.delivery.target);
		put_int(b, "notification_key", r->u.delivery.key);
		put_guid(b, "id", r->u.delivery.guid);
		put_int(b, "routed_at", r->u.delivery.routed_at);
		put_time(b, "updated_at", r->u.delivery.updated_at);
		put_time(b, "deleted_at", r->u.delivery.deleted_at);
		for (int i = 0; i < ND_EV__COUNT; i++)
			put_time(b, nd_event_time_field((enum nd_event)i),
				 r->u.delivery.at[i]);
		break;
	default:
		break;
	}
	nd_buf_puts(b, "}\n");
}

struct exporter {
	FILE *out;
	struct nd_buf line;
	size_t records;
	bool progress;
};

static void show_progress(size_t n, const char *verb, bool last)
{
	fprintf(stderr, "\rnotifd: %s %zu records%s", verb, n, last ? "\n" : "");
}

static int export_row(void *arg, const struct nd_record *rec)
{
	struct exporter *x = arg;
	nd_buf_reset(&x->line);
	write_record(&x->line, rec);
	/* stdio may take a record into its buffer after a write of the buffer
	 * failed: its error flag stops the export at once, rather than after
	 * reading the whole store for an output that takes nothing. */
	if (fwrite(x->line.data, 1, x->line.len, x->out) != x->line.len || ferror(x->out))
		return ND_ERR_INTERNAL;
	if (++x->records % PROGRESS_EVERY == 0 && x->progress)
		show_progress(x->records, "exported", false);
	return 0;
}

enum nd_err nd_svc_export(struct nd_store_conn *db, const char *tenant, FILE *out,
			  size_t *records, struct nd_error *err)
{
	struct exporter x = {.out = out, .progress = isatty(STDERR_FILENO)};
	fprintf(out, "{\"record\":\"notifd-export\",\"version\":%d,\"created_at\":%lld}\n",
		FORMAT_VERSION, (long long)nd_time_now_ms());
	enum nd_err e = nd_store_dump(db, tenant, export_row, &x, err);
	if (e == ND_ERR_INTERNAL && !err->detail[0])
		nd_fail(err, e, NULL, "cannot write the export");
	else if (e == ND_ERR_NOT_FOUND)
		nd_fail(err, e, "tenant", "no tenant named \"%.64s\"", tenant);
	if (!e && fflush(out) != 0)
		e = nd_fail(err, ND_ERR_INTERNAL, NULL, "cannot write the export");
	if (x.progress)
		show_progress(x.records, "exported", true);
	nd_buf_release(&x.line);
	*records = x.records;
	return e;
}

/* --- reading --- */

/* One line's fields, checked as they are read. */
struct reader {
	json_t *obj;
	size_t line;
	struct nd_error *err;
	bool bad;
	char **owned; /* JSON texts made for the record (attributes, screen_name) */
	size_t nowned;
};

static enum nd_err bad_line(struct reader *rd, const char *what)
{
	rd->bad = true;
	return nd_fail(rd->err, ND_ERR_INVALID_PARAM, NULL, "line %zu: %s", rd->line, what);
}

static const char *get_str(struct reader *rd, const char *name, bool required)
{
	const json_t *v = json_object_get(rd->obj, name);
	if (json_is_string(v))
		return json_string_value(v);
	if ((!v || json_is_null(v)) && !required)
		return NULL;
	char msg[96];
	snprintf(msg, sizeof msg, "\"%s\" must be a string", name);
	bad_line(rd, msg);
	return NULL;
}

/* An id (target, campaign): 1..128 visible ASCII characters. */
static const char *get_id(struct reader *rd, const char *name, bool required)
{
	const char *s = get_str(rd, name, required);
	if (s && !nd_id_valid(s)) {
		char msg[96];
		snprintf(msg, sizeof msg, "\"%s\" is not a valid id", name);
		bad_line(rd, msg);
		return NULL;
	}
	return s;
}

static int64_t get_int(struct reader *rd, const char *name, int64_t min, int64_t max,
		       bool nullable)
{
	const json_t *v = json_object_get(rd->obj, name);
	if (nullable && (!v || json_is_null(v)))
		return ND_NO_TIME;
	if (json_is_integer(v) && json_integer_value(v) >= min && json_integer_value(v) <= max)
		return json_integer_value(v);
	char msg[96];
	snprintf(msg, sizeof msg, "\"%s\" must be an integer from %lld to %lld", name,
		 (long long)min, (long long)max);
	bad_line(rd, msg);
	return 0;
}

/* An instant notifd can print back: years 0000..9999 (util/time.h). */
static int64_t get_time(struct reader *rd, const char *name, bool nullable)
{
	return get_int(rd, name, ND_TIME_MIN, ND_TIME_MAX, nullable);
}

static int32_t get_int32(struct reader *rd, const char *name)
{
	return (int32_t)get_int(rd, name, INT32_MIN, INT32_MAX, false);
}

/* A notification key or a segment id: notifd numbers them from 1. */
static int32_t get_key(struct reader *rd, const char *name)
{
	return (int32_t)get_int(rd, name, 1, INT32_MAX, false);
}

/* A JSON object or array value kept as text, as the store holds it. */
static const char *get_json(struct reader *rd, const char *name, bool array)
{
	const json_t *v = json_object_get(rd->obj, name);
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		char msg[96];
		snprintf(msg, sizeof msg, "\"%s\" must be a JSON %s", name, array ? "array" : "object");
		bad_line(rd, msg);
		return NULL;
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rd->owned = nd_xrealloc(rd->owned, (rd->nowned + 1) * sizeof *rd->owned);
	rd->owned[rd->nowned++] = text;
	return text;
}

static void get_guid(struct reader *rd, const char *name, unsigned char out[16])
{
	const char *s = get_str(rd, name, true);
	if (s && !nd_guid_parse(s, out))
		bad_line(rd, "\"id\" must be a GUID");
}

static void read_key(struct reader *rd, struct nd_record *r)
{
	const char *hex = get_str(rd, "hash", true);
	const char *role = get_str(rd, "role", true);
	size_t n = 0;
	if (hex && strlen(hex) == ND_KEY_HASH_LEN * 2 &&
	    strspn(hex, "0123456789abcdef") == ND_KEY_HASH_LEN * 2)
		sodium_hex2bin(r->u.key.hash, ND_KEY_HASH_LEN, hex, ND_KEY_HASH_LEN * 2, NULL, &n,
			       NULL);
	if (hex && n != ND_KEY_HASH_LEN)
		bad_line(rd, "\"hash\" must be 64 lower-case hex digits");
	if (role && !nd_role_parse(role, &r->u.key.role))
		bad_line(rd, "\"role\" must be admin or member");
	r->u.key.target = get_id(rd, "target", false);
	if (role && !rd->bad && (r->u.key.role == ND_ROLE_MEMBER) != (r->u.key.target != NULL))
		bad_line(rd, "a member key has a target and an admin key none");
	r->u.key.created_at = get_time(rd, "created_at", false);
	r->u.key.revoked_at = get_time(rd, "revoked_at", true);
}

static void read_notification(struct reader *rd, struct nd_record *r)
{
	struct nd_notification *n = &r->u.notification;
	n->key = get_key(rd, "notification_key");
	unsigned char bin[16];
	get_guid(rd, "id", bin);
	if (!rd->bad)
		nd_guid_format(bin, n->guid);
	n->libelle = get_str(rd, "libelle", true);
	n->body = get_str(rd, "body", false);
	n->url = get_str(rd, "url", false);
	n->type = get_str(rd, "type", false);
	n->action_type = get_int32(rd, "action_type");
	n->campaign_id = get_id(rd, "campaign_id", false);
	n->profile = get_str(rd, "profile", false);
	n->screen_names = get_json(rd, "screen_name", true);
	n->batch = get_str(rd, "batch", false);
	n->date_started = get_time(rd, "date_started", false);
	n->date_due = get_time(rd, "date_due", true);
	n->created_at = get_time(rd, "created_at", false);
}

static void read_fields(struct reader *rd, struct nd_record *r)
{
	switch (r->kind) {
	case ND_REC_TENANT:
		r->u.tenant.time_zone = get_str(rd, "time_zone", true);
		if (r->u.tenant.time_zone && !nd_zone_valid(r->u.tenant.time_zone))
			bad_line(rd, "\"time_zone\" is not an IANA time zone");
		r->u.tenant.next_notification_key =
			get_int(rd, "next_notification_key", 1, (int64_t)INT32_MAX + 1, false);
		r->u.tenant.next_segment_id =
			get_int(rd, "next_segment_id", 1, (int64_t)INT32_MAX + 1, false);
		r->u.tenant.created_at = get_time(rd, "created_at", false);
		break;
	case ND_REC_KEY:
		read_key(rd, r);
		break;
	case ND_REC_TARGET:
		r->u.target.id = get_id(rd, "id", true);
		r->u.target.name = get_str(rd, "name", false);
		r->u.target.email = get_str(rd, "email", false);
		r->u.target.profile = get_str(rd, "profile", false);
		r->u.target.attributes = get_json(rd, "attributes", false);
		r->u.target.created_at = get_time(rd, "created_at", false);
		r->u.target.updated_at = get_time(rd, "updated_at", false);
		break;
	case ND_REC_SEGMENT:
		r->u.segment.id = get_key(rd, "id");
		r->u.segment.name = get_str(rd, "name", true);
		r->u.segment.created_at = get_time(rd, "created_at", false);
		break;
	case ND_REC_MEMBERSHIP:
		r->u.membership.segment = get_key(rd, "segment");
		r->u.membership.target = get_id(rd, "target", true);
		r->u.membership.created_at = get_time(rd, "created_at", false);
		break;
	case ND_REC_CAMPAIGN:
		r->u.campaign.id = get_id(rd, "id", true);
		r->u.campaign.name = get_str(rd, "name", true);
		r->u.campaign.created_at = get_time(rd, "created_at", false);
		r->u.campaign.updated_at = get_time(rd, "updated_at", false);
		break;
	case ND_REC_NOTIFICATION:
		read_notification(rd, r);
		break;
	case ND_REC_DELIVERY:
		r->u.delivery.target = get_id(rd, "target", true);
		r->u.delivery.key = get_key(rd, "notification_key");
		get_guid(rd, "id", r->u.delivery.guid);
		r->u.delivery.routed_at = get_time(rd, "routed_at", false);
		r->u.delivery.updated_at = get_time(rd, "updated_at", true);
		r->u.delivery.deleted_at = get_time(rd, "deleted_at", true);
		for (int i = 0; i < ND_EV__COUNT; i++)
			r->u.delivery.at[i] =
				get_time(rd, nd_event_time_field((enum nd_event)i), true);
		break;
	default:
		break;
	}
}

/* Parses line @rd->line into @r; ND_OK with r->kind == ND_REC__COUNT for
 * the header. */
static enum nd_err read_record(struct reader *rd, const char *text, size_t len,
			       struct nd_record *r)
{
	json_error_t jerr;
	rd->obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(rd->obj))
		return bad_line(rd, "not a JSON object");
	const char *kind = get_str(rd, "record", true);
	if (!kind)
		return rd->err->code;
	if (strcmp(kind, "notifd-export") == 0) {
		if (rd->line != 1)
			return bad_line(rd, "a second header");
		if (get_int(rd, "version", 1, FORMAT_VERSION, false) != FORMAT_VERSION)
			return rd->err->code;
		r->kind = ND_REC__COUNT;
		return ND_OK;
	}
	if (rd->line == 1)
		return bad_line(rd, "not a notifd export (no header)");
	int k = 0;
	while (k < ND_REC__COUNT && strcmp(kind, kind_names[k]) != 0)
		k++;
	if (k == ND_REC__COUNT)
		return bad_line(rd, "unknown record kind");
	memset(r, 0, sizeof *r);
	r->kind = (enum nd_record_kind)k;
	r->tenant = get_str(rd, "tenant", true);
	if (r->tenant && !nd_tenant_name_valid(r->tenant))
		bad_line(rd, "\"tenant\" is not a valid tenant name");
	if (!rd->bad)
		read_fields(rd, r);
	return rd->bad ? rd->err->code : ND_OK;
}

static void reader_reset(struct reader *rd)
{
	json_decref(rd->obj);
	rd->obj = NULL;
	for (size_t i = 0; i < rd->nowned; i++)
		free(rd->owned[i]);
	rd->nowned = 0;
}

/* Store errors while loading, told with the line that caused them. */
static enum nd_err load_failed(struct reader *rd, enum nd_err e, const struct nd_record *r)
{
	if (e == ND_ERR_CONFLICT && r->kind == ND_REC_TENANT)
		return nd_fail(rd->err, ND_ERR_INVALID_PARAM, NULL,
			       "line %zu: tenant \"%.64s\" already exists in this database", rd->line,
			       r->tenant);
	if (e == ND_ERR_CONFLICT)
		return nd_fail(rd->err, ND_ERR_INVALID_PARAM, NULL,
			       "line %zu: this %s is already stored", rd->line, kind_names[r->kind]);
	if (e == ND_ERR_NOT_FOUND && r->kind == ND_REC_DELIVERY)
		return nd_fail(rd->err, ND_ERR_INVALID_PARAM, NULL,
			       "line %zu: this delivery refers to a tenant, target or notification"
			       " that comes later or not at all, or is not routed at its"
			       " notification's date_started",
			       rd->line);
	if (e == ND_ERR_NOT_FOUND)
		return nd_fail(rd->err, ND_ERR_INVALID_PARAM, NULL,
			       "line %zu: this %s refers to a tenant, target, segment or "
			       "notification that comes later or not at all",
			       rd->line, kind_names[r->kind]);
	return e;
}

enum nd_err nd_svc_import(struct nd_store_conn *db, FILE *in, size_t *records,
			  struct nd_error *err)
{
	struct reader rd = {.err = err};
	bool progress = isatty(STDERR_FILENO);
	char *text = NULL;
	size_t cap = 0;
	ssize_t len;
	*records = 0;
	enum nd_err e = nd_store_load_begin(db, err);
	while (!e && (len = getline(&text, &cap, in)) >= 0) {
		rd.line++;
		struct nd_record r;
		e = read_record(&rd, text, (size_t)len, &r);
		if (!e && r.kind != ND_REC__COUNT && (e = nd_store_load(db, &r, err)))
			e = load_failed(&rd, e, &r);
		if (!e && r.kind != ND_REC__COUNT && ++*records % PROGRESS_EVERY == 0 && progress)
			show_progress(*records, "imported", false);
		reader_reset(&rd);
	}
	free(text);
	free(rd.owned);
	if (!e && rd.line == 0)
		e = nd_fail(err, ND_ERR_INVALID_PARAM, NULL, "the input is empty");
	if (!e && ferror(in))
		e = nd_fail(err, ND_ERR_INVALID_PARAM, NULL, "cannot read the input");
	struct nd_error end_err = {0};
	enum nd_err end = nd_store_load_end(db, !e, e ? &end_err : err);
	if (progress && !e)
		show_progress(*records, "imported", true);
	return e ? e : end;
}
