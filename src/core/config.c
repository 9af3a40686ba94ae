/* config.c - settings from defaults, a config file, the environment and flags. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/keys.h"
#include "util/mem.h"

const struct nd_setting nd_settings[] = {
	{"listen", "ADDR:PORT to serve on (default 127.0.0.1:8080; port 0 picks a free port)"},
	{"db", "SQLite file (default var/notifd.db), or PostgreSQL: postgres://... or host=..."},
	{"config", "config file of \"name = value\" lines"},
	{"admin_key",
	 "make sure this key exists as an admin key of tenant \"default\" (never a revoked one)"},
	{"admin_key_file", "read admin_key from this file (not readable by other users)"},
	{"threads", "HTTP worker threads (default: one per core)"},
	{"max_body", "request body cap in bytes (default 1048576)"},
	{"body_memory", "bytes all request bodies being received may hold together; past it a "
			"request is refused with 503 (default 67108864, at least max_body)"},
	{"synchronous", "SQLite: full (survives power loss, default) or normal (survives crashes)"},
	{"mmap_size", "SQLite: bytes of the database file read through a memory map rather than "
		      "read() calls (default 1073741824; 0 = none; SQLite caps it at its build's "
		      "maximum, 2 GiB on Debian)"},
	{"connection_limit", "open connections at most (default 1024)"},
	{"per_ip_limit", "open connections per client address at most (default 256)"},
	{"timeout", "seconds before an idle connection is closed (default 60)"},
	{"head_timeout", "seconds a client has to send a whole request head once the connection "
			 "is ready for one; an idle keep-alive connection closes then too (default "
			 "30)"},
	{"min_body_rate", "bytes a second a request body must keep up after its first 10 s, "
			  "else the connection is cut (default 1024, 0 = no minimum)"},
	{"rate_limit", "requests per API key and minute, past which it gets 429 with Retry-After "
		       "(default 0 = no limit; counted per instance)"},
	{"rate_burst", "requests a key may make at once within its rate_limit (default 0 = a "
		       "minute's worth)"},
	{"auth_failures", "failed keys per client address and minute before it gets 429 for the "
			  "rest of the minute (default 20, 0 = no limit)"},
	{NULL, NULL},
};

void nd_config_init(struct nd_config *c)
{
	memset(c, 0, sizeof *c);
	c->listen = nd_xstrdup("127.0.0.1:8080");
	c->db = nd_xstrdup("var/notifd.db");
	c->max_body = 1u << 20;
	c->body_memory = 64u << 20;
	c->sync_full = true;
	c->mmap_size = ND_MMAP_SIZE_DEFAULT;
	c->connection_limit = 1024;
	c->per_ip_limit = 256;
	c->timeout = 60;
	c->head_timeout = 30;
	c->min_body_rate = 1024;
	c->auth_failures = 20;
}

void nd_config_release(struct nd_config *c)
{
	free(c->listen);
	free(c->db);
	free(c->config);
	free(c->admin_key);
	memset(c, 0, sizeof *c);
}

static bool parse_uint(const char *s, unsigned long long min, unsigned long long max,
		       unsigned long long *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, NULL, 10);
	if (errno || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void set_str(char **slot, const char *value)
{
	free(*slot);
	*slot = nd_xstrdup(value);
}

/* The admin key from @path: its first line. A key on the command line is
 * in /proc/PID/cmdline for every local user to read; a file is not, so
 * one that others may read is refused rather than trusted. */
static enum nd_err read_key_file(struct nd_config *c, const char *path, struct nd_error *err)
{
	static const char *const name = "admin_key_file";
	FILE *f = fopen(path, "r");
	if (!f)
		return nd_fail(err, ND_ERR_INVALID_PARAM, name, "cannot read %.100s: %s", path,
			       strerror(errno));
	struct stat st;
	char key[ND_KEY_MAX + 3];
	enum nd_err e = ND_OK;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		e = nd_fail(err, ND_ERR_INVALID_PARAM, name, "%.100s is not a regular file", path);
	} else if (st.st_mode & S_IROTH) {
		e = nd_fail(err, ND_ERR_INVALID_PARAM, name,
			    "%.100s is readable by every user (mode %03o): chmod o-r it", path,
			    (unsigned)(st.st_mode & 0777));
	} else if (!fgets(key, sizeof key, f)) {
		e = nd_fail(err, ND_ERR_INVALID_PARAM, name, "%.100s is empty", path);
	} else {
		size_t n = strcspn(key, "\r\n");
		if (key[n] == '\0' && !feof(f) && strlen(key) == sizeof key - 1)
			e = nd_fail(err, ND_ERR_INVALID_PARAM, name,
				    "%.100s: the key is longer than %d characters", path, ND_KEY_MAX);
		key[n] = '\0';
		if (!e)
			set_str(&c->admin_key, key);
	}
	explicit_bzero(key, sizeof key);
	fclose(f);
	return e;
}

/* The numeric settings: where each goes, its range, what it counts. */
static const struct number_setting {
	const char *name;
	size_t offset;
	bool is_size; /* a size_t field, else unsigned */
	unsigned long long min, max;
	const char *unit; /* after "a number" */
	const char *zero; /* after the minimum 0, when 0 means something */
} number_settings[] = {
#define FIELD(f) offsetof(struct nd_config, f), sizeof(((struct nd_config *)0)->f) == sizeof(size_t)
	{"threads", FIELD(threads), 0, 256, "", ""},
	{"max_body", FIELD(max_body), 1, 1ull << 30, " of bytes", ""},
	{"body_memory", FIELD(body_memory), 1, 1ull << 40, " of bytes", ""},
	{"mmap_size", FIELD(mmap_size), 0, 1ull << 40, " of bytes", " (none)"},
	{"connection_limit", FIELD(connection_limit), 1, 1000000, "", ""},
	{"per_ip_limit", FIELD(per_ip_limit), 0, 1000000, "", " (no limit)"},
	{"timeout", FIELD(timeout), 1, 86400, " of seconds", ""},
	{"head_timeout", FIELD(head_timeout), 1, 86400, " of seconds", ""},
	{"min_body_rate", FIELD(min_body_rate), 0, 1u << 30, " of bytes a second", " (no minimum)"},
	{"auth_failures", FIELD(auth_failures), 0, 1000000, "", " (no limit)"},
	{"rate_limit", FIELD(rate_limit), 0, 100000000, "", " (no limit)"},
	{"rate_burst", FIELD(rate_burst), 0, 100000000, "", " (a minute's worth)"},
#undef FIELD
};

static enum nd_err set_number(struct nd_config *c, const char *name, const char *value,
			      struct nd_error *err)
{
	for (size_t i = 0; i < sizeof number_settings / sizeof *number_settings; i++) {
		const struct number_setting *n = &number_settings[i];
		if (strcmp(name, n->name) != 0)
			continue;
		unsigned long long v;
		if (!parse_uint(value, n->min, n->max, &v))
			return nd_fail(err, ND_ERR_INVALID_PARAM, name,
				       "%s must be a number%s from %llu%s to %llu", name, n->unit, n->min,
				       n->min == 0 ? n->zero : "", n->max);
		char *field = (char *)c + n->offset;
		if (n->is_size)
			*(size_t *)(void *)field = (size_t)v;
		else
			*(unsigned *)(void *)field = (unsigned)v;
		return ND_OK;
	}
	return nd_fail(err, ND_ERR_INVALID_PARAM, name, "unknown setting \"%.64s\"", name);
}

enum nd_err nd_config_set(struct nd_config *c, const char *name, const char *value,
			  struct nd_error *err)
{
	if (strcmp(name, "listen") == 0) {
		if (!strchr(value, ':'))
			return nd_fail(err, ND_ERR_INVALID_PARAM, name,
				       "invalid listen address \"%.100s\": expected ADDR:PORT", value);
		set_str(&c->listen, value);
	} else if (strcmp(name, "db") == 0) {
		if (!*value)
			return nd_fail(err, ND_ERR_INVALID_PARAM, name, "db must not be empty");
		set_str(&c->db, value);
	} else if (strcmp(name, "config") == 0) {
		set_str(&c->config, value);
	} else if (strcmp(name, "admin_key") == 0) {
		set_str(&c->admin_key, value);
	} else if (strcmp(name, "admin_key_file") == 0) {
		return read_key_file(c, value, err);
	} else if (strcmp(name, "synchronous") == 0) {
		if (strcmp(value, "full") == 0)
			c->sync_full = true;
		else if (strcmp(value, "normal") == 0)
			c->sync_full = false;
		else
			return nd_fail(err, ND_ERR_INVALID_PARAM, name,
				       "synchronous must be full or normal");
	} else {
		return set_number(c, name, value, err);
	}
	return ND_OK;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Puts where a bad value came from in front of the error's detail. */
static void prefix_detail(struct nd_error *err, const char *where, unsigned lineno)
{
	if (!err)
		return;
	char detail[ND_DETAIL_MAX];
	snprintf(detail, sizeof detail, "%s", err->detail);
	if (lineno)
		snprintf(err->detail, sizeof err->detail, "%.100s:%u: %.140s", where, lineno, detail);
	else
		snprintf(err->detail, sizeof err->detail, "%.100s: %.140s", where, detail);
}

enum nd_err nd_config_load_file(struct nd_config *c, const char *path, struct nd_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return nd_fail(err, ND_ERR_INVALID_PARAM, "config", "cannot read config file %s: %s",
			       path, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	enum nd_err e = ND_OK;
	ssize_t len;
	while (!e && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		/* A NUL would silently cut the line (a key short of its end). */
		if (memchr(line, '\0', (size_t)len)) {
			e = nd_fail(err, ND_ERR_INVALID_PARAM, "config", "%s:%u: a NUL byte in the line",
				    path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			e = nd_fail(err, ND_ERR_INVALID_PARAM, "config",
				    "%s:%u: expected \"name = value\"", path, lineno);
			break;
		}
		*eq = '\0';
		char *name = trim(s), *value = trim(eq + 1);
		if (strcmp(name, "config") == 0) {
			e = nd_fail(err, ND_ERR_INVALID_PARAM, "config",
				    "%s:%u: a config file cannot name another", path, lineno);
			break;
		}
		e = nd_config_set(c, name, value, err);
		if (e)
			prefix_detail(err, path, lineno);
	}
	free(line);
	fclose(f);
	return e;
}

enum nd_err nd_config_load_env(struct nd_config *c, struct nd_error *err)
{
	for (const struct nd_setting *s = nd_settings; s->name; s++) {
		char env[64] = "NOTIFD_";
		size_t n = strlen(env);
		for (const char *p = s->name; *p && n < sizeof env - 1; p++)
			env[n++] = (char)toupper((unsigned char)*p);
		env[n] = '\0';
		const char *v = getenv(env);
		if (!v)
			continue;
		enum nd_err e = nd_config_set(c, s->name, v, err);
		if (e) {
			prefix_detail(err, env, 0);
			return e;
		}
	}
	return ND_OK;
}

const char *nd_config_flag_name(const char *flag, char *buf, size_t len)
{
	if (strncmp(flag, "--", 2) != 0)
		return NULL;
	flag += 2;
	size_t n = strcspn(flag, "=");
	if (n == 0 || n >= len)
		return NULL;
	for (size_t i = 0; i < n; i++)
		buf[i] = flag[i] == '-' ? '_' : flag[i];
	buf[n] = '\0';
	for (const struct nd_setting *s = nd_settings; s->name; s++)
		if (strcmp(s->name, buf) == 0)
			return buf;
	return NULL;
}
