/* notifd.c - the daemon's entry point: settings, subcommands, serving,
 * signals.
 *
 *   notifd [SETTINGS]                       serve
 *   notifd key create --role R [...]        print a new key
 *   notifd demo [SETTINGS]                  seed the demo tenant
 *   notifd export [--tenant NAME] [FILE]    write tenants as JSON lines
 *   notifd import [FILE]                    load an export */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "face/api3/api3.h"
#include "face/np6/np6.h"
#include "face/v1/v1.h"
#include "http/server.h"
#include "store/store.h"
#include "svc/svc.h"
#include "util/fault.h"
#include "util/log.h"

#define SHUTDOWN_GRACE_MS 10000

static const struct nd_face *const faces[] = {&nd_face_v1, &nd_face_np6, &nd_face_api3};

static void usage(FILE *f)
{
	fprintf(f, "usage: notifd [SETTINGS]\n"
		   "       notifd key create --role admin|member [--target ID] [--tenant NAME] "
		   "[SETTINGS]\n"
		   "       notifd demo [SETTINGS]\n"
		   "       notifd export [--tenant NAME] [FILE] [SETTINGS]\n"
		   "       notifd import [FILE] [SETTINGS]\n"
		   "       notifd routes\n"
		   "       notifd --help | --version\n\n"
		   "notifd serves notifications over HTTP: the native /v1 API, the NP6 target\n"
		   "API (/targets/...) and the Brightidea API3 notification object\n"
		   "(/api3/notification), on one store.\n\n"
		   "Settings (flag, then environment variable; flags beat the environment,\n"
		   "which beats the config file, which beats the defaults):\n");
	for (const struct nd_setting *s = nd_settings; s->name; s++) {
		char flag[64], env[64];
		size_t i;
		for (i = 0; s->name[i] && i < sizeof flag - 1; i++) {
			flag[i] = s->name[i] == '_' ? '-' : s->name[i];
			env[i] = (char)(s->name[i] >= 'a' && s->name[i] <= 'z' ? s->name[i] - 32
									       : s->name[i]);
		}
		flag[i] = env[i] = '\0';
		fprintf(f, "  --%-18s NOTIFD_%-18s %s\n", flag, env, s->help);
	}
	fprintf(f, "\nkey create prints the new key on standard output; only its hash is "
		   "stored.\nThe tenant (default \"default\") is created on first mention.\n"
		   "export writes one tenant (--tenant) or all as JSON lines to FILE or standard\n"
		   "output; import loads such a file (or standard input) into the database that\n"
		   "--db names, SQLite or PostgreSQL, in one transaction. A tenant that already\n"
		   "exists there is refused.\n"
		   "routes prints every route of every face as a JSON line: face, method, path\n"
		   "and who may call it (public, admin, member-self: a member key for its own\n"
		   "target, member-any: any key, the handler scoping member keys).\n"
		   "SIGTERM or SIGINT stop serving after in-flight requests finish.\n");
}

/* `notifd routes`: the route tables, as the dispatcher matches them. */
static void print_routes(void)
{
	for (size_t f = 0; f < sizeof faces / sizeof faces[0]; f++) {
		for (size_t i = 0; i < faces[f]->nroutes; i++) {
			const struct nd_route *rt = &faces[f]->routes[i];
			const char *access = (rt->flags & ND_ROUTE_PUBLIC)	 ? "public"
					     : (rt->flags & ND_ROUTE_MEMBER_SELF) ? "member-self"
					     : (rt->flags & ND_ROUTE_MEMBER_ANY)  ? "member-any"
										  : "admin";
			printf("{\"face\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"access\":\"%s\"}\n",
			       faces[f]->name, rt->method, rt->pattern, access);
		}
	}
}

static int die(const char *msg)
{
	fprintf(stderr, "notifd: %s\n", msg);
	return 1;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "notifd: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see notifd --help)\n");
	va_end(ap);
	return 2;
}

/* Subcommand options that are not settings. */
struct cli {
	const char *cmd; /* "serve", "key create", "demo", "export", "import" */
	const char *role, *target, *tenant;
	bool moves_data; /* export or import: takes a FILE, makes no key */
	const char *file; /* "-" or absent for the standard streams */
	const char *flag_name[32];
	const char *flag_value[32];
	size_t nflags;
	char names[32][64];
};

static int parse_args(int argc, char **argv, struct cli *cli)
{
	int i = 1;
	cli->cmd = "serve";
	if (argc == 2 && strcmp(argv[1], "routes") == 0) {
		print_routes();
		exit(0);
	}
	if (i < argc && strcmp(argv[i], "key") == 0) {
		if (i + 1 >= argc || strcmp(argv[i + 1], "create") != 0)
			return usage_error("unknown key command \"%s\"", i + 1 < argc ? argv[i + 1] : "");
		cli->cmd = "key create";
		i += 2;
	} else if (i < argc && (strcmp(argv[i], "demo") == 0 || strcmp(argv[i], "export") == 0 ||
				strcmp(argv[i], "import") == 0)) {
		cli->cmd = argv[i];
		i++;
	}
	cli->moves_data = strcmp(cli->cmd, "export") == 0 || strcmp(cli->cmd, "import") == 0;
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(a, "--version") == 0) {
			printf("notifd %s\n", ND_VERSION);
			exit(0);
		}
		if (strncmp(a, "--", 2) != 0) {
			if (!cli->moves_data || cli->file)
				return usage_error("unexpected argument \"%s\"", a);
			cli->file = a;
			continue;
		}
		const char *eq = strchr(a, '=');
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
		if (!value)
			return usage_error("%s needs a value", a);
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		const char **slot = NULL;
		if (strcmp(cli->cmd, "export") == 0 && n == 8 && strncmp(a, "--tenant", n) == 0)
			slot = &cli->tenant;
		if (strcmp(cli->cmd, "key create") == 0) {
			if (n == 6 && strncmp(a, "--role", n) == 0)
				slot = &cli->role;
			else if (n == 8 && strncmp(a, "--target", n) == 0)
				slot = &cli->target;
			else if (n == 8 && strncmp(a, "--tenant", n) == 0)
				slot = &cli->tenant;
		}
		if (slot) {
			*slot = value;
		} else {
			if (cli->nflags == 32)
				return usage_error("too many options");
			const char *name = nd_config_flag_name(a, cli->names[cli->nflags], 64);
			if (!name)
				return usage_error("unknown option \"%s\"", a);
			cli->flag_name[cli->nflags] = name;
			cli->flag_value[cli->nflags++] = value;
		}
		if (!eq)
			i++;
	}
	return 0;
}

/* The admin key came as --admin-key. */
static bool key_on_command_line;

/* defaults < config file < environment < flags. */
static int load_config(const struct cli *cli, struct nd_config *cfg)
{
	struct nd_error err = {0};
	nd_config_init(cfg);
	const char *file = getenv("NOTIFD_CONFIG");
	for (size_t i = 0; i < cli->nflags; i++)
		if (strcmp(cli->flag_name[i], "config") == 0)
			file = cli->flag_value[i];
	if (file && *file && nd_config_load_file(cfg, file, &err))
		return die(err.detail);
	if (nd_config_load_env(cfg, &err))
		return die(err.detail);
	for (size_t i = 0; i < cli->nflags; i++) {
		if (nd_config_set(cfg, cli->flag_name[i], cli->flag_value[i], &err))
			return die(err.detail);
		if (strcmp(cli->flag_name[i], "admin_key") == 0) {
			/* Every local user can read a command line (ps, /proc/PID/
			 * cmdline). The copy is taken: blank the argument (argv's
			 * strings are the program's to change); serve() says what
			 * to use instead. */
			char *arg = (char *)cli->flag_value[i];
			memset(arg, 'x', strlen(arg));
			key_on_command_line = true;
		}
	}
	if (cfg->body_memory < cfg->max_body)
		return die("body_memory must be at least max_body: one body of the largest size "
			   "must fit");
	return 0;
}

static int cmd_key_create(const struct cli *cli, struct nd_store_conn *c)
{
	struct nd_error err = {0};
	enum nd_role role;
	if (!cli->role || !nd_role_parse(cli->role, &role))
		return usage_error("key create needs --role admin or --role member");
	const char *tenant_name = cli->tenant ? cli->tenant : "default";
	struct nd_principal operator;
	struct nd_new_key k;
	const struct nd_call call = {c, &operator, &err};
	enum nd_err e = nd_svc_operator(c, tenant_name, &operator, &err);
	if (!e)
		e = nd_svc_key_create(&call, role, cli->target, &k);
	/* The tenant's name, or a target missing, malformed or not wanted. */
	if (e == ND_ERR_INVALID_PARAM || e == ND_ERR_INVALID_FIELD || e == ND_ERR_MISSING_FIELD)
		return usage_error("%s", err.detail);
	if (e)
		return die(err.detail);
	printf("%s\n", k.key);
	fprintf(stderr, "notifd: created %s key %s for tenant %s\n", nd_role_name(role), k.id,
		tenant_name);
	return 0;
}

/* @file, or @std when it is absent or "-"; NULL (errno set) when it cannot
 * be opened. */
static FILE *open_arg(const char *file, const char *mode, FILE *std)
{
	return file && strcmp(file, "-") != 0 ? fopen(file, mode) : std;
}

static int cmd_export(const struct cli *cli, struct nd_store_conn *c)
{
	struct nd_error err = {0};
	FILE *out = open_arg(cli->file, "w", stdout);
	if (!out) {
		fprintf(stderr, "notifd: cannot write %s: %s\n", cli->file, strerror(errno));
		return 1;
	}
	size_t n;
	enum nd_err e = nd_svc_export(c, cli->tenant, out, &n, &err);
	if (out != stdout && fclose(out) != 0 && !e)
		e = nd_fail(&err, ND_ERR_INTERNAL, NULL, "cannot write %s", cli->file);
	if (e)
		return die(err.detail);
	fprintf(stderr, "notifd: exported %zu records\n", n);
	return 0;
}

static int cmd_import(const struct cli *cli, struct nd_store_conn *c)
{
	struct nd_error err = {0};
	FILE *in = open_arg(cli->file, "r", stdin);
	if (!in) {
		fprintf(stderr, "notifd: cannot read %s: %s\n", cli->file, strerror(errno));
		return 1;
	}
	size_t n;
	enum nd_err e = nd_svc_import(c, in, &n, &err);
	if (in != stdin)
		fclose(in);
	if (e)
		return die(err.detail);
	fprintf(stderr, "notifd: imported %zu records\n", n);
	return 0;
}

/* Why notifd stops when the store logged its reason itself. */
static const char unservable[] = "the database cannot be served (see above)";

/* What serving needs from the store before the first request: a working
 * connection, a schema this notifd knows and the operator's admin key.
 * *@logged tells whether the store has logged the failure itself, as it
 * logs every failed check of the schema but a busy one. */
static enum nd_err store_ready(struct nd_store *store, const char *admin_key,
			       struct nd_error *err, bool *logged)
{
	struct nd_store_conn *c;
	*logged = false;
	enum nd_err e = nd_store_conn(store, &c, err);
	if (e)
		return e;
	/* The schema again: what kept the store busy may have been a newer
	 * notifd migrating it. Making the key may have waited for another
	 * process's write lock, and what that process committed may be a newer
	 * schema: read it once more before serving. */
	e = nd_svc_ping(c, err);
	if (!e && admin_key) {
		if ((e = nd_svc_admin_key_ensure(c, admin_key, err)))
			return e;
		e = nd_svc_ping(c, err);
	}
	*logged = e != ND_OK;
	return e;
}

/* When the database cannot be reached at start (a PostgreSQL server still
 * starting, a network hiccup), notifd serves anyway, answering 503, and
 * this thread asks the store again every WARMUP_RETRY_MS until it is
 * ready. The store paces the real attempts itself (PostgreSQL backs off up
 * to 2 s and logs an outage once), so asking often costs nothing and
 * notices recovery soon. */
struct warmup {
	struct nd_store *store;
	const char *admin_key;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	atomic_bool failed; /* a problem retrying cannot solve: notifd stops, exit 1 */
	atomic_bool ready;  /* the store is ready: requests may use it */
};

#define WARMUP_RETRY_MS 100

static void *warmup_run(void *arg)
{
	struct warmup *w = arg;
	for (;;) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += WARMUP_RETRY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&w->mu);
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
			;
		bool stop = w->stop;
		pthread_mutex_unlock(&w->mu);
		if (stop)
			return NULL;
		struct nd_error err = {0};
		bool logged;
		enum nd_err e = store_ready(w->store, w->admin_key, &err, &logged);
		if (!e) {
			atomic_store_explicit(&w->ready, true, memory_order_release);
			nd_log("info", "store", "the database answers: ready");
			return NULL;
		}
		if (e != ND_ERR_BUSY) {
			/* What would have stopped notifd at start stops it now. */
			if (!logged)
				nd_log("error", "store", "%s", err.detail);
			atomic_store(&w->failed, true);
			kill(getpid(), SIGTERM);
			return NULL;
		}
	}
}

static void warmup_stop(struct warmup *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

static int serve(const struct nd_config *cfg, struct nd_store *store)
{
	struct nd_error err = {0};
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	/* Block before any thread starts so only sigwait() below sees them. */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct nd_server_opts opts = {
		.listen = cfg->listen,
		.threads = cfg->threads,
		.max_body = cfg->max_body,
		.body_memory = cfg->body_memory,
		.conn_limit = cfg->connection_limit,
		.per_ip_limit = cfg->per_ip_limit,
		.timeout_s = cfg->timeout,
		.auth_failures = cfg->auth_failures,
		.rate_limit = cfg->rate_limit,
		.rate_burst = cfg->rate_burst,
		.head_timeout = cfg->head_timeout,
		.min_body_rate = cfg->min_body_rate,
	};
	struct warmup w = {.store = store, .admin_key = cfg->admin_key};
	opts.ready = &w.ready;
	bool logged;
	enum nd_err e = store_ready(store, cfg->admin_key, &err, &logged);
	atomic_init(&w.ready, e == ND_OK);
	atomic_init(&w.failed, false);
	bool warming = e == ND_ERR_BUSY;
	if (warming) {
		nd_log("warn", "store", "the database does not answer yet; serving 503 until it does");
		pthread_mutex_init(&w.mu, NULL);
		pthread_cond_init(&w.cv, NULL);
		/* Without it nothing would ever make the store ready. */
		if (nd_thread_create(&w.thread, warmup_run, &w) != 0)
			return die("cannot start a thread");
	} else if (e) {
		return die(logged ? unservable : err.detail);
	}
	struct nd_server *srv;
	if (nd_server_start(&opts, store, faces, sizeof faces / sizeof faces[0], &srv, &err)) {
		if (warming)
			warmup_stop(&w);
		return die(err.detail);
	}
	/* From here on, requests never wait for stderr (util/log.h). */
	nd_log_start();

	struct nd_buf b = ND_BUF_INIT;
	nd_log_begin(&b, "info");
	nd_buf_puts(&b, ",\"event\":\"listening\",\"addr\":");
	nd_buf_json_str(&b, nd_server_addr(srv));
	nd_buf_puts(&b, ",\"db\":");
	char db[512];
	nd_store_redact(cfg->db, db, sizeof db);
	nd_buf_json_str(&b, db);
	nd_buf_puts(&b, ",\"version\":\"" ND_VERSION "\"");
	nd_log_emit(&b);
	nd_fault_arm();
	if (key_on_command_line)
		nd_log("warn", "config",
		       "--admin-key on the command line was visible to local users until it was "
		       "blanked; use --admin-key-file or NOTIFD_ADMIN_KEY");

	int sig = 0;
	sigwait(&stop, &sig);
	/* The warm-up stops notifd with a SIGTERM of its own, having said why. */
	if (atomic_load(&w.failed))
		nd_log("error", "stopping", "%s", unservable);
	else
		nd_log("info", "stopping", "received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	nd_server_stop(srv, SHUTDOWN_GRACE_MS);
	if (warming)
		warmup_stop(&w);
	nd_log_stop();
	nd_log("info", "stopped", "%s", "");
	return atomic_load(&w.failed) ? 1 : 0;
}

int main(int argc, char **argv)
{
	/* The database, its WAL and shared-memory files, exports: everything
	 * notifd creates holds other people's messages or key hashes, so only
	 * its own user may read it (SQLite gives the -wal and -shm files the
	 * database file's mode). */
	umask(077);
	if (!nd_fault_setup())
		return 2;
	struct cli cli = {0};
	int rc = parse_args(argc, argv, &cli);
	if (rc)
		return rc;
	struct nd_config cfg;
	if ((rc = load_config(&cli, &cfg))) {
		nd_config_release(&cfg);
		return rc;
	}
	if (sodium_init() < 0) {
		nd_config_release(&cfg);
		return die("cannot initialise libsodium");
	}
	struct nd_error err = {0};
	struct nd_store_opts sopts = {
	    .sqlite = {.sync_full = cfg.sync_full, .mmap_size = cfg.mmap_size}};
	struct nd_store *store = NULL;
	struct nd_store_conn *c = NULL;
	if (nd_store_open(cfg.db, &sopts, &store, &err)) {
		rc = die(err.detail);
		goto out;
	}
	if (strcmp(cli.cmd, "serve") == 0) {
		rc = serve(&cfg, store);
		goto out;
	}
	if (nd_store_conn(store, &c, &err)) {
		rc = die(err.detail);
		goto out;
	}
	/* export and import move data as it is: they make no key. */
	if (cfg.admin_key && !cli.moves_data && nd_svc_admin_key_ensure(c, cfg.admin_key, &err)) {
		rc = die(err.detail);
		goto out;
	}
	nd_fault_arm();
	if (strcmp(cli.cmd, "key create") == 0) {
		rc = cmd_key_create(&cli, c);
	} else if (strcmp(cli.cmd, "export") == 0) {
		rc = cmd_export(&cli, c);
	} else if (strcmp(cli.cmd, "import") == 0) {
		rc = cmd_import(&cli, c);
	} else if (strcmp(cli.cmd, "demo") == 0) {
		bool seeded;
		if (nd_svc_demo_seed(c, &seeded, &err))
			rc = die(err.detail);
		else
			fprintf(stderr, "notifd: %s\n",
				seeded ? "demo tenant seeded" : "demo tenant already there");
	}
out:
	nd_fault_report();
	nd_store_free(store);
	nd_config_release(&cfg);
	return rc;
}
