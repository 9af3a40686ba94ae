#!/usr/bin/env python3
"""A throw-away PostgreSQL server for notifd's tests (Python 3 standard library only).

Tests never touch a system cluster. This module runs `initdb` into a fresh
directory under /tmp, starts a postmaster that listens on a Unix socket in
that directory only (no TCP), hands out empty databases, and stops the server
and removes the directory at the end.

Library
-------
    import pg_server
    srv = pg_server.start()            # raises pg_server.Skip when impossible
    srv.admin_conninfo                 # 'host=/tmp/notifd-pg-x port=5432 user=notifd dbname=postgres'
    ci = srv.create_database("nd")     # conninfo of a fresh empty database
    srv.drop_database(pg_server.conninfo_dbname(ci))
    srv.stop_server(); srv.start_server()   # an outage on the same data directory
    srv.stop()                         # stop and remove everything

`attach()` returns a Server for the admin conninfo in $NOTIFD_TEST_PG (a
server someone else started, e.g. `make check`); it can create and drop
databases but does not own the server: stop() only forgets it, and the
outage helpers refuse, since other suites share that server.

Command line
------------
    pg_server.py run -- CMD ARGS...
        Runs CMD with $NOTIFD_TEST_PG set to a server's admin conninfo. When
        $NOTIFD_TEST_PG is already set, just execs CMD. Otherwise starts a
        temporary server, runs CMD, stops and removes the server and exits
        with CMD's exit code. When no server can be started at all, prints
        "POSTGRESQL LEG SKIPPED: <reason>" loudly on stderr and exits 77
        (meson's "skipped").
    pg_server.py start [--owner PID]
        Starts a server and prints NOTIFD_TEST_PG=... and NOTIFD_TEST_PG_DIR=...
        lines (shell-quoted) for `eval`. With --owner, a detached watchdog
        stops and removes the server once process PID has exited, in case
        nobody calls `stop`. Exits 77 with the loud message when impossible.
    pg_server.py stop DIR
        Stops the server started in DIR and removes DIR (only a directory
        this script created: it must hold our server.json).

Finding the server
------------------
The newest /usr/lib/postgresql/<version>/bin holding initdb, pg_ctl and
postgres. $NOTIFD_TEST_PG_BIN names another directory instead (and then
nothing is installed). When none is found and we run as root, the Debian
package `postgresql` is installed with apt-get (DEBIAN_FRONTEND=noninteractive,
--no-install-recommends), unless $NOTIFD_TEST_PG_NO_INSTALL=1. Debian's
package may create and start its own "main" cluster; it is never used here.

Privileges
----------
PostgreSQL refuses to run as root. As root, initdb, pg_ctl and the server
run as nobody:nogroup through `setpriv --reuid=nobody --regid=nogroup
--clear-groups` (util-linux), in a directory chowned to nobody; otherwise
they run as the current user. Clients (psql, notifd) connect with
`user=notifd` (initdb -U notifd -A trust), whoever runs them.

Settings
--------
initdb -U notifd -A trust -E UTF8 --locale=C; the server runs with
listen_addresses='' (Unix socket only), unix_socket_directories=DIR,
fsync=off (the tests do not test power loss) and max_connections=200.

Cleanup
-------
stop() tries `pg_ctl stop -m fast`, then `-m immediate`, then SIGKILL of
the postmaster PID this module started (checked against /proc first), and
removes the directory. It is registered with atexit; in addition a small
detached watchdog process (`_reap`) waits for the owning process to exit
and cleans up if it died without doing so (SIGKILL, a test timeout).
"""

import argparse
import atexit
import itertools
import json
import os
import re
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP_EXIT = 77          # meson: the test was skipped
PORT = 5432             # only names the socket file: there is no TCP listener
SUPERUSER = "notifd"
RUN_AS_USER = "nobody"
RUN_AS_GROUP = "nogroup"
MAX_CONNECTIONS = 200
MARKER = "notifd-test-pg"   # in server.json: proves a directory is ours before rm -rf
META = "server.json"
START_TIMEOUT = 60      # seconds pg_ctl waits for the server to accept connections
STOP_TIMEOUT = 30
PSQL_TIMEOUT = 60
APT_TIMEOUT = 900

_names = itertools.count(1)


class Skip(Exception):
    """No PostgreSQL server can be started here; str(exc) says why."""


class NotOwned(Exception):
    """An operation that needs our own server was tried on an attached one."""


def log(msg):
    sys.stderr.write("pg_server: %s\n" % msg)
    sys.stderr.flush()


def skip_banner(reason, what=None):
    """The loud multi-line message printed when the PostgreSQL leg cannot run."""
    bar = "#" * 78
    lines = [bar, "##", "## POSTGRESQL LEG SKIPPED: %s" % reason.strip().splitlines()[0]]
    for extra in reason.strip().splitlines()[1:]:
        lines.append("##   %s" % extra)
    if what:
        lines.append("## not run against PostgreSQL: %s" % what)
    lines += [
        "## This is NOT a pass: these tests did not run against PostgreSQL.",
        "## Fix: install the server binaries (apt-get install postgresql, as root),",
        "## or set NOTIFD_TEST_PG to the admin conninfo of a disposable server.",
        "##", bar,
    ]
    return "\n".join(lines) + "\n"


# -- conninfo strings ------------------------------------------------------

def _quote_value(v):
    v = str(v)
    if v and not re.search(r"[\s'\\]", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def make_conninfo(**kw):
    """A libpq keyword string from keyword arguments, in the given order."""
    return " ".join("%s=%s" % (k, _quote_value(v)) for k, v in kw.items() if v is not None)


def parse_conninfo(s):
    """A libpq keyword string ("host=/x port=5432 dbname='a b'") as a dict."""
    out = {}
    i, n = 0, len(s)
    while True:
        while i < n and s[i].isspace():
            i += 1
        if i >= n:
            return out
        eq = s.find("=", i)
        if eq < 0:
            raise ValueError("not a libpq keyword string: %r" % s)
        key = s[i:eq].strip()
        i = eq + 1
        while i < n and s[i].isspace():
            i += 1
        val = []
        if i < n and s[i] == "'":
            i += 1
            while i < n and s[i] != "'":
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(s[i])
                i += 1
            if i >= n:
                raise ValueError("unterminated quote in %r" % s)
            i += 1
        else:
            while i < n and not s[i].isspace():
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                val.append(s[i])
                i += 1
        out[key] = "".join(val)


_KEYWORDS = ("host", "hostaddr", "port", "dbname", "user", "password", "passfile", "service",
             "sslmode", "connect_timeout", "options", "application_name",
             "target_session_attrs")


def is_conninfo(s):
    """Whether notifd reads --db value s as PostgreSQL (src/store/store.c):
    a postgres:// or postgresql:// URI, or a keyword string starting with a
    libpq keyword."""
    if not isinstance(s, str):
        return False
    if s.startswith(("postgres://", "postgresql://")):
        return True
    s = s.lstrip(" \t")
    return any(s.startswith(k + "=") for k in _KEYWORDS)


def conninfo_dbname(conninfo):
    """The dbname of a keyword conninfo or of a postgres(ql):// URI."""
    if conninfo.startswith(("postgres://", "postgresql://")):
        from urllib.parse import parse_qs, unquote, urlsplit
        u = urlsplit(conninfo)
        q = parse_qs(u.query)
        return q["dbname"][0] if "dbname" in q else unquote(u.path.lstrip("/")) or None
    return parse_conninfo(conninfo).get("dbname")


# -- finding and installing the binaries -------------------------------------

REQUIRED = ("initdb", "pg_ctl", "postgres")


def _has_server(d):
    return all(os.access(os.path.join(d, b), os.X_OK) for b in REQUIRED)


def _version_key(path):
    ver = os.path.basename(os.path.dirname(path))
    return tuple(int(p) if p.isdigit() else -1 for p in ver.split("."))


def find_bin_dir():
    """The directory holding initdb/pg_ctl/postgres, or None.

    $NOTIFD_TEST_PG_BIN wins when set (even when it holds nothing)."""
    override = os.environ.get("NOTIFD_TEST_PG_BIN")
    if override:
        return override if _has_server(override) else None
    try:
        versions = os.listdir("/usr/lib/postgresql")
    except OSError:
        versions = []
    dirs = [os.path.join("/usr/lib/postgresql", v, "bin") for v in versions]
    dirs = sorted((d for d in dirs if _has_server(d)), key=_version_key, reverse=True)
    return dirs[0] if dirs else None


def _apt_install(package):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
           "-o", "DPkg::Lock::Timeout=120", package]
    log("PostgreSQL server binaries missing: installing the Debian package %r" % package)
    try:
        for attempt in (1, 2):
            cp = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr,
                                stderr=sys.stderr, timeout=APT_TIMEOUT)
            if cp.returncode == 0:
                return True
            if attempt == 1:   # stale or missing package lists
                subprocess.run(["apt-get", "update", "-qq"], env=env, stdin=subprocess.DEVNULL,
                               stdout=sys.stderr, stderr=sys.stderr, timeout=APT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("apt-get failed: %s" % e)
    return False


def ensure_bin_dir():
    """find_bin_dir(), installing `postgresql` first when needed and allowed.

    Raises Skip when no server binaries can be had."""
    d = find_bin_dir()
    if d:
        return d
    override = os.environ.get("NOTIFD_TEST_PG_BIN")
    if override:
        raise Skip("NOTIFD_TEST_PG_BIN=%s holds no %s" % (override, "/".join(REQUIRED)))
    if os.geteuid() != 0:
        raise Skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin, and not root, "
                   "so cannot install the Debian package postgresql")
    if os.environ.get("NOTIFD_TEST_PG_NO_INSTALL") == "1":
        raise Skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin "
                   "(installing disabled by NOTIFD_TEST_PG_NO_INSTALL=1)")
    if not shutil.which("apt-get"):
        raise Skip("no PostgreSQL server binaries and no apt-get to install them")
    if not _apt_install("postgresql"):
        raise Skip("no PostgreSQL server binaries, and `apt-get install postgresql` failed")
    d = find_bin_dir()
    if not d:
        raise Skip("`apt-get install postgresql` ran but /usr/lib/postgresql/*/bin "
                   "still holds no server")
    return d


def find_psql(bin_dir=None):
    """The psql client: the server's own, else the newest installed, else $PATH."""
    cands = []
    if bin_dir:
        cands.append(os.path.join(bin_dir, "psql"))
    try:
        for v in sorted(os.listdir("/usr/lib/postgresql"),
                        key=lambda v: _version_key("/x/%s/bin" % v), reverse=True):
            cands.append(os.path.join("/usr/lib/postgresql", v, "bin", "psql"))
    except OSError:
        pass
    for c in cands:
        if os.access(c, os.X_OK):
            return c
    return shutil.which("psql")


def _client_env():
    """The environment for psql: no PG* variable may redirect it elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update(LC_ALL="C", PGCONNECT_TIMEOUT="10")
    return env


def _tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


# -- the server ------------------------------------------------------------

class Server:
    """A PostgreSQL server reachable on a Unix socket.

    Attributes: dir (the temporary directory, also the socket directory;
    None when attached without one), host, port, user, bin_dir, owned,
    admin_conninfo (to the `postgres` database, as superuser `notifd`).
    """

    def __init__(self, dir, bin_dir, host, port=PORT, user=SUPERUSER, owned=True,
                 as_user=None, pid=None, options=""):
        self.dir = dir
        self.bin_dir = bin_dir
        self.host = host
        self.port = int(port)
        self.user = user
        self.owned = owned
        self.as_user = as_user        # run server commands as this user (root only)
        self.pid = pid                # the postmaster we started
        self.options = options        # more server options ("-c name=value ...")
        self._dbs = set()             # databases created through this object
        self._stopped = False

    # -- names -------------------------------------------------------------

    @property
    def datadir(self):
        return os.path.join(self.dir, "data")

    @property
    def logfile(self):
        return os.path.join(self.dir, "server.log")

    @property
    def admin_conninfo(self):
        return self.conninfo("postgres")

    def conninfo(self, dbname):
        """Keyword conninfo for database dbname on this server."""
        return make_conninfo(host=self.host, port=self.port, user=self.user, dbname=dbname)

    def __repr__(self):
        return "<pg_server.Server %s%s>" % (self.admin_conninfo, "" if self.owned else " attached")

    # -- running commands -------------------------------------------------

    def _server_cmd(self, argv):
        if self.as_user:
            return ["setpriv", "--reuid=" + self.as_user[0], "--regid=" + self.as_user[1],
                    "--clear-groups", "--"] + argv
        return argv

    def _server_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=self.dir)
        return env

    def run_server_cmd(self, name, *args, timeout=STOP_TIMEOUT + START_TIMEOUT, out=None):
        """Runs server binary `name` (initdb, pg_ctl, ...) as the server's user.

        Output goes to `out` (a file) or is captured; returns CompletedProcess."""
        argv = self._server_cmd([os.path.join(self.bin_dir, name)] + [str(a) for a in args])
        kw = dict(stdout=out, stderr=subprocess.STDOUT) if out else dict(capture_output=True)
        return subprocess.run(argv, stdin=subprocess.DEVNULL, cwd=self.dir, env=self._server_env(),
                              timeout=timeout, text=True, **kw)

    def pg_ctl(self, *args, timeout=STOP_TIMEOUT + START_TIMEOUT):
        """Runs `pg_ctl -D DATADIR ARGS...` as the server's user; returns CompletedProcess.

        Output (pg_ctl's own, not the server's) is appended to DIR/pg_ctl.log."""
        self._need_owned("pg_ctl")
        with open(os.path.join(self.dir, "pg_ctl.log"), "a") as out:
            return self.run_server_cmd("pg_ctl", "-D", self.datadir, *args, timeout=timeout,
                                       out=out)

    def psql(self, sql, dbname="postgres", timeout=PSQL_TIMEOUT):
        """Runs one SQL command with psql as superuser; returns its unaligned output."""
        psql = find_psql(self.bin_dir)
        if not psql:
            raise RuntimeError("psql not found (install postgresql-client)")
        cp = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.conninfo(dbname),
             "-c", sql],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=_client_env(),
            timeout=timeout)
        if cp.returncode != 0:
            raise RuntimeError("psql %r failed (%d): %s" % (sql, cp.returncode, cp.stderr.strip()))
        return cp.stdout

    def _need_owned(self, what):
        if not self.owned or not self.dir:
            raise NotOwned("%s: this server (%s) was not started here; it may be shared "
                           "with other suites, start a private one with pg_server.start()"
                           % (what, self.admin_conninfo))

    # -- databases ------------------------------------------------------------

    def new_name(self, prefix="nd"):
        """A database name unique to this process (and random), at most 63 bytes."""
        p = re.sub(r"[^a-z0-9_]", "_", prefix.lower())[:30] or "nd"
        if not re.match(r"[a-z_]", p):
            p = "d" + p
        return "%s_%d_%d_%s" % (p, os.getpid(), next(_names), secrets.token_hex(3))

    def create_database(self, prefix="nd"):
        """Creates an empty database; returns its keyword conninfo."""
        name = self.new_name(prefix)
        for attempt in range(5):
            try:
                self.psql('CREATE DATABASE "%s"' % name)
                break
            except RuntimeError as e:
                # only when someone is connected to template1 at that moment
                if "being accessed by other users" not in str(e) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        self._dbs.add(name)
        return self.conninfo(name)

    def drop_database(self, name):
        """Drops database `name` (a name or a conninfo), closing its sessions."""
        if is_conninfo(name):
            name = conninfo_dbname(name)
        if not re.fullmatch(r"[A-Za-z0-9_]+", name or "") or name in (
                "postgres", "template0", "template1"):
            raise ValueError("refusing to drop database %r" % name)
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        self._dbs.discard(name)

    def has_user_tables(self, dbname):
        """True when database dbname holds any table outside the system schemas
        (i.e. something, notifd, created a schema in it)."""
        out = self.psql("SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                        " ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')"
                        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                        " AND n.nspname NOT LIKE 'pg_toast%'", dbname=dbname)
        return int(out.strip() or "0") > 0

    # -- lifecycle ------------------------------------------------------------

    def _server_options(self):
        return ("-c listen_addresses='' -c unix_socket_directories=%s -c port=%d"
                " -c fsync=off -c max_connections=%d %s"
                % (self.dir, self.port, MAX_CONNECTIONS, self.options)).strip()

    def _read_pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def _save_meta(self):
        meta = {"marker": MARKER, "bin_dir": self.bin_dir, "port": self.port, "user": self.user,
                "as_user": self.as_user, "pid": self.pid}
        tmp = os.path.join(self.dir, META + ".tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f)
        os.replace(tmp, os.path.join(self.dir, META))

    def start_server(self):
        """Starts the postmaster on the existing data directory (waits until it
        accepts connections). Raises Skip with the server log when it cannot."""
        self._need_owned("start_server")
        try:
            cp = self.pg_ctl("-l", self.logfile, "-w", "-t", START_TIMEOUT,
                             "-o", self._server_options(), "start")
        except subprocess.TimeoutExpired:
            cp = None
        pid = self._read_pid()
        if pid:
            self.pid = pid
            self._save_meta()
        if cp is None or cp.returncode != 0:
            raise Skip("the PostgreSQL server did not start (pg_ctl start %s); server log:\n%s"
                       % ("timed out" if cp is None else "exit %d" % cp.returncode,
                          _tail(self.logfile) or _tail(os.path.join(self.dir, "pg_ctl.log"))))
        return self

    def stop_server(self, mode="fast"):
        """Stops the postmaster (`pg_ctl stop -m MODE`), keeping the data:
        start_server() brings the same databases back. Escalates to
        immediate, then to SIGKILL of our postmaster, when needed."""
        self._need_owned("stop_server")
        modes = [mode] + (["immediate"] if mode != "immediate" else [])
        for m in modes:
            if not self.running():
                return
            try:
                cp = self.pg_ctl("-m", m, "-w", "-t", STOP_TIMEOUT, "stop", timeout=STOP_TIMEOUT + 10)
                # pg_ctl returns once postmaster.pid is gone; the process
                # itself exits a moment later
                if cp.returncode == 0 and self._wait_gone(10):
                    return
            except subprocess.TimeoutExpired:
                pass
        self._kill_postmaster()

    def _wait_gone(self, timeout):
        """Waits up to timeout seconds for our postmaster to exit; True when it has."""
        deadline = time.monotonic() + timeout
        while self._pid_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def running(self):
        """True while our postmaster process exists."""
        return self._pid_alive() or self._read_pid() is not None and self._is_ours(self._read_pid())

    def _is_ours(self, pid):
        """pid is a postgres process running on our data directory."""
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            return False
        return any(a == self.datadir.encode() for a in argv) or (
            self.pid == pid and argv and argv[0].endswith(b"postgres"))

    def _pid_alive(self):
        return bool(self.pid) and self._is_ours(self.pid)

    def _kill_postmaster(self):
        pid = self.pid or self._read_pid()
        if pid and self._is_ours(pid):
            log("postmaster %d ignored pg_ctl stop: sending SIGKILL" % pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.pid = pid
            self._wait_gone(10)

    def stop(self):
        """Stops the server and removes its directory (owned servers); forgets
        an attached one after dropping the databases it created. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if not self.owned:
            for name in list(self._dbs):
                try:
                    self.drop_database(name)
                except Exception as e:  # the shared server may be gone already
                    log("could not drop %s: %s" % (name, e))
            return
        try:
            if self.dir and os.path.isdir(self.datadir):
                self.stop_server("fast")
        finally:
            _remove_dir(self.dir)

    # -- construction ---------------------------------------------------------

    @classmethod
    def load(cls, dir):
        """The server started by this module in dir (from its server.json)."""
        with open(os.path.join(dir, META)) as f:
            meta = json.load(f)
        if meta.get("marker") != MARKER:
            raise ValueError("%s was not created by pg_server.py" % dir)
        as_user = tuple(meta["as_user"]) if meta.get("as_user") else None
        return cls(dir, meta["bin_dir"], dir, meta["port"], meta["user"], owned=True,
                   as_user=as_user, pid=meta.get("pid"))


def _remove_dir(d):
    """rm -rf d, but only a notifd-pg-* directory that is really ours: one
    holding our server.json marker, or an empty one (made by start() but
    failed before it wrote server.json)."""
    if not d or not os.path.isdir(d):
        return
    ours = False
    if os.path.basename(d).startswith("notifd-pg-"):
        try:
            with open(os.path.join(d, META)) as f:
                ours = json.load(f).get("marker") == MARKER
        except (OSError, ValueError):
            try:
                ours = not os.listdir(d)
            except OSError:
                ours = False
    if not ours:
        log("not removing %s: not a pg_server.py directory" % d)
        return
    shutil.rmtree(d, ignore_errors=True)


def _run_as():
    """(user, group) to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    if not shutil.which("setpriv"):
        raise Skip("running as root and setpriv (util-linux) is missing, so the server "
                   "cannot run as an unprivileged user")
    import grp
    import pwd
    try:
        pw = pwd.getpwnam(RUN_AS_USER)
        gr = grp.getgrnam(RUN_AS_GROUP)
    except KeyError as e:
        raise Skip("running as root and there is no %s user / %s group to run the server as (%s)"
                   % (RUN_AS_USER, RUN_AS_GROUP, e))
    return (RUN_AS_USER, RUN_AS_GROUP), pw.pw_uid, gr.gr_gid


def start(owner=None, watchdog=True, options=""):
    """Starts a fresh temporary server; returns its Server.

    options: more server options, e.g. "-c shared_preload_libraries=...".

    owner: the PID whose exit makes the watchdog clean up (default: this
    process). The server is also stopped and removed at this process's exit
    (atexit) unless stop() ran first. Raises Skip when impossible."""
    bin_dir = ensure_bin_dir()
    run_as = _run_as()
    d = tempfile.mkdtemp(prefix="notifd-pg-", dir="/tmp")  # short: sockets paths are <108 bytes
    srv = None
    try:
        if run_as:
            os.chown(d, run_as[1], run_as[2])
        os.chmod(d, 0o700)
        srv = Server(d, bin_dir, d, owned=True, as_user=run_as[0] if run_as else None,
                     options=options)
        srv._save_meta()
        try:
            cp = srv.run_server_cmd("initdb", "-D", srv.datadir, "-U", SUPERUSER, "-A", "trust",
                                    "-E", "UTF8", "--locale=C", "--no-sync", timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Skip("initdb could not run: %s" % e)
        if cp.returncode != 0:
            raise Skip("initdb failed (exit %d):\n%s"
                       % (cp.returncode, (cp.stdout + cp.stderr).strip()[-2000:]))
        srv.start_server()
        atexit.register(srv.stop)
        if watchdog:
            _spawn_reaper(owner or os.getpid(), d)
        return srv
    except BaseException:
        if srv is not None and os.path.isdir(os.path.join(d, "data")):
            try:
                srv._stopped = False
                srv.stop()
            except Exception as e:
                log("cleanup after a failed start: %s" % e)
        _remove_dir(d)
        raise


def attach(conninfo=None, dir=None):
    """A Server for an existing server's admin conninfo (default $NOTIFD_TEST_PG).

    Not owned: databases can be created and dropped, the server itself is
    left alone."""
    conninfo = conninfo or os.environ.get("NOTIFD_TEST_PG")
    if not conninfo:
        raise ValueError("no admin conninfo (NOTIFD_TEST_PG is not set)")
    kv = parse_conninfo(conninfo)
    if not kv.get("host"):
        raise ValueError("NOTIFD_TEST_PG needs host=: %r" % conninfo)
    dir = dir or os.environ.get("NOTIFD_TEST_PG_DIR") or None
    bin_dir = None
    if dir:
        try:
            with open(os.path.join(dir, META)) as f:
                bin_dir = json.load(f).get("bin_dir")
        except (OSError, ValueError):
            pass
    return Server(dir, bin_dir, kv["host"], kv.get("port", PORT), kv.get("user", SUPERUSER),
                  owned=False)


# -- the watchdog ----------------------------------------------------------

def _spawn_reaper(owner, d):
    """A detached process that cleans up d once process `owner` has exited.

    New session, so a test runner killing our process group leaves it alive;
    stdio on /dev/null, so it never holds a pipe someone waits on."""
    log_path = os.path.join(d, "reaper.log")
    with open(os.devnull, "rb") as null_in, open(os.devnull, "wb") as null_out:
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "_reap", str(owner), d],
                         stdin=null_in, stdout=null_out, stderr=null_out, start_new_session=True,
                         close_fds=True, cwd="/", env=dict(os.environ, NOTIFD_TEST_PG_REAPER_LOG=log_path))


def _wait_for_exit(pid, d):
    """Returns once process pid has exited (True) or directory d is gone
    because someone already stopped the server (False)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (OSError, AttributeError):
        fd = None
    try:
        while os.path.isdir(d):
            if fd is not None:
                p = select.poll()
                p.register(fd, select.POLLIN)
                if p.poll(2000):
                    return True
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
                except PermissionError:
                    pass
                time.sleep(1)
        return False
    finally:
        if fd is not None:
            os.close(fd)


def _reap(owner, d):
    """The watchdog: once `owner` has exited, stop and remove the server in d
    if it is still there; exit early when d disappears (stopped normally)."""
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    if not _wait_for_exit(owner, d) or not os.path.isdir(d):
        return 0
    try:
        srv = Server.load(d)
    except (OSError, ValueError):
        return 0
    srv.stop()
    return 0


# -- command line ------------------------------------------------------------

def _cmd_run(argv):
    if not argv:
        log("usage: pg_server.py run -- CMD ARGS...")
        return 2
    what = " ".join(shlex.quote(a) for a in argv)
    if os.environ.get("NOTIFD_TEST_PG"):
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            log("cannot run %s: %s" % (argv[0], e))
            return 127
    try:
        srv = start()
    except Skip as e:
        sys.stderr.write(skip_banner(str(e), what))
        sys.stderr.flush()
        return SKIP_EXIT
    child = None
    got = []

    def forward(sig, frame):
        got.append(sig)
        if child is not None and child.poll() is None:
            child.send_signal(sig)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        env = dict(os.environ, NOTIFD_TEST_PG=srv.admin_conninfo, NOTIFD_TEST_PG_DIR=srv.dir)
        try:
            child = subprocess.Popen(argv, env=env)
        except OSError as e:
            log("cannot run %s: %s" % (argv[0], e))
            return 127
        if got:  # a signal arrived before the child existed
            child.send_signal(got[0])
        while True:
            try:
                rc = child.wait()
                break
            except InterruptedError:
                continue
        return rc if rc >= 0 else 128 - rc
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        srv.stop()


def _cmd_start(args):
    try:
        srv = start(owner=args.owner, watchdog=args.owner is not None, options=args.options)
    except Skip as e:
        sys.stderr.write(skip_banner(str(e), "every *_pg test"))
        return SKIP_EXIT
    # The caller owns it now: `pg_server.py stop DIR` (or the watchdog) ends it.
    atexit.unregister(srv.stop)
    print("NOTIFD_TEST_PG=%s" % shlex.quote(srv.admin_conninfo))
    print("NOTIFD_TEST_PG_DIR=%s" % shlex.quote(srv.dir))
    return 0


def _cmd_stop(args):
    d = os.path.abspath(args.dir)
    if not os.path.isdir(d):
        return 0
    try:
        srv = Server.load(d)
    except (OSError, ValueError) as e:
        log("refusing to stop/remove %s: %s" % (d, e))
        return 1
    srv.stop()
    return 1 if os.path.isdir(d) else 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"]:
        rest = argv[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return _cmd_run(rest)
    if argv[:1] == ["_reap"] and len(argv) == 3:
        lp = os.environ.get("NOTIFD_TEST_PG_REAPER_LOG")
        if lp:
            try:
                sys.stderr = open(lp, "a")
            except OSError:
                pass
        return _reap(int(argv[1]), argv[2])
    ap = argparse.ArgumentParser(prog="pg_server.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("run", help="run -- CMD ARGS...: CMD with NOTIFD_TEST_PG set")
    p = sub.add_parser("start", help="start a server, print shell variables")
    p.add_argument("--options", default="",
                   help='more server options, e.g. "-c fsync=on" (benchmarks)')
    p.add_argument("--owner", type=int, default=None,
                   help="clean up automatically once this PID has exited")
    p = sub.add_parser("stop", help="stop and remove the server in DIR")
    p.add_argument("dir")
    args = ap.parse_args(argv)
    return {"start": _cmd_start, "stop": _cmd_stop}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
