/* config.h - settings: defaults < config file < environment < flags.
 *
 * Every setting has one name; its flag is --name (underscores as dashes),
 * its environment variable NOTIFD_NAME, its config file key the name itself.
 * The config file holds "name = value" lines; '#' starts a comment. */
#ifndef ND_CORE_CONFIG_H
#define ND_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

struct nd_config {
	char *listen;
	char *db;
	char *config;
	char *admin_key;
	unsigned threads;
	size_t max_body;
	size_t body_memory;
	bool sync_full;
	size_t mmap_size;
	unsigned connection_limit;
	unsigned per_ip_limit;
	unsigned timeout;
	unsigned head_timeout;
	unsigned min_body_rate;
	unsigned auth_failures;
	unsigned rate_limit;
	unsigned rate_burst;
};

/* SQLite reads up to this many bytes of the database file through a
 * memory map (PRAGMA mmap_size) unless told otherwise. */
#define ND_MMAP_SIZE_DEFAULT ((size_t)1 << 30)

struct nd_setting {
	const char *name;
	const char *help;
};

/* The settings, in --help order; terminated by a NULL name. */
extern const struct nd_setting nd_settings[];

void nd_config_init(struct nd_config *c);
void nd_config_release(struct nd_config *c);
/* Validates and stores one setting; the error names it. */
enum nd_err nd_config_set(struct nd_config *c, const char *name, const char *value,
			  struct nd_error *err);
enum nd_err nd_config_load_file(struct nd_config *c, const char *path, struct nd_error *err);
/* Applies every NOTIFD_* variable that is set. */
enum nd_err nd_config_load_env(struct nd_config *c, struct nd_error *err);
/* Maps "--admin-key" to "admin_key"; NULL when @flag names no setting. */
const char *nd_config_flag_name(const char *flag, char *buf, size_t len);

#endif
