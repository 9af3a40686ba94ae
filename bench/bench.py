#!/usr/bin/env python3
"""notifd's hot paths against ceilings measured in the same run.

    bench/bench.py [--quick] [--binary build/notifd] [--seconds N] [--no-record]

Builds a deterministic dataset once through the API (10,000 targets in one
segment, 100 notifications fanned out to it: 1,000,000 deliveries, 100 per
target; --quick: 1,000 targets and 20 notifications), cached in bench/out/
and keyed by the SQLite schema (version and digest), then measures each scenario with
wrk (1 thread, 64 keep-alive connections, bounded in time) pinned to core 1
against notifd (one worker thread) pinned to core 0. The ceiling of a read
is nginx (Debian's nginx-light) pinned to core 0 serving the very bytes
notifd answered, as a static file. Prints one markdown table (throughput,
p50/p99, the ceiling and the ratio, peak RSS) with the commit, date and
machine, and prepends it to bench/RESULTS.md unless --no-record.

Every process it starts is stopped at the end; nothing listens beyond
127.0.0.1.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OUT = os.path.join(HERE, "out")
RESULTS = os.path.join(HERE, "RESULTS.md")
KEY = "bench-admin-key-0123456789abcdef"
SERVER_CORE, LOAD_CORE = "0", "1"

procs = []
sys.path.insert(0, os.path.join(REPO, "tests", "pg"))
import pg_server  # noqa: E402  (the tests' throw-away PostgreSQL server)


def log(msg):
    sys.stderr.write("[bench] %s\n" % msg)
    sys.stderr.flush()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start(argv, **kw):
    p = subprocess.Popen(["taskset", "-c", SERVER_CORE] + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in procs:
        procs.remove(p)


def wait_http(port, path="/healthz"):
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("bench: nothing answers on port %d" % port)


class Notifd:
    def __init__(self, binary, db, sync="full"):
        self.port = free_port()
        self.proc = start([binary, "--listen", "127.0.0.1:%d" % self.port, "--db", db,
                           "--admin-key", KEY, "--threads", "1", "--synchronous", sync])
        wait_http(self.port)
        self.conn = None
        # The kernel keeps no peak of private memory: sampled every 10 ms.
        self.private_peak_kb = 0
        self.sampler = threading.Thread(target=self.sample, daemon=True)
        self.sampler.start()

    def status_kb(self, field):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample(self):
        while self.proc.poll() is None:
            self.private_peak_kb = max(self.private_peak_kb, self.status_kb("RssAnon"))
            time.sleep(0.01)

    def call(self, method, path, body=None):
        """One request on a kept-alive connection, opened again when the
        server closed it (its idle timeout runs during slow scenarios)."""
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            try:
                self.conn.request(method, path, body=data,
                                  headers={"X-Key": KEY, "Content-Type": "application/json"})
                r = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, ConnectionError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        payload = r.read()
        if r.status >= 300:
            raise SystemExit("bench: %s %s -> %d %s" % (method, path, r.status, payload[:200]))
        return payload

    def memory_kb(self):
        """(peak RSS, peak private memory): the RSS also counts the pages of
        files mapped, the database's above all (--mmap-size)."""
        return (self.status_kb("VmHWM"),
                max(self.private_peak_kb, self.status_kb("RssAnon")))

    def close(self):
        if self.conn:
            self.conn.close()
        stop(self.proc)


def building(binary, path):
    """(the temporary file a dataset for @path is built in, a notifd on it),
    after removing what an interrupted build left."""
    tmp = path + ".tmp"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(tmp + suffix):
            os.remove(tmp + suffix)
    return tmp, Notifd(binary, tmp, sync="normal")


def build_dataset(binary, quick):
    """The cached dataset's path, built through the API when missing."""
    targets, notifications = (1000, 20) if quick else (10000, 100)
    os.makedirs(OUT, exist_ok=True)
    # Keyed by the schema: a dataset from another schema is built again.
    name = "dataset-s%s-%dx%d.db" % (schema_version(), targets, notifications)
    path = os.path.join(OUT, name)
    if os.path.exists(path):
        return path, targets
    log("building %s (once): %d targets x %d deliveries" % (name, targets, notifications))
    tmp, d = building(binary, path)
    try:
        seg = json.loads(d.call("POST", "/v1/segments", {"name": "everyone"}))["id"]
        d.call("PUT", "/v1/campaigns/spring", {"name": "Spring"})
        for i in range(targets):
            d.call("PUT", "/v1/segments/%d/members/t%d" % (seg, i))
        base = datetime.datetime(2024, 2, 1, tzinfo=datetime.timezone.utc)
        for i in range(notifications):
            at = base + datetime.timedelta(hours=6 * i)
            n = {"libelle": "Notification number %d for everyone" % i,
                 "body": "A body of some length, as notifications have, number %d." % i,
                 "url": "/items/%d" % i, "type": "type%d" % (i % 5),
                 "screen_name": ["notifd"], "batch": "batch %d" % (i // 10),
                 "date_started": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "segments": [seg]}
            if i % 4 == 0:
                n["campaign_id"] = "spring"
            d.call("POST", "/v1/notifications", n)
    finally:
        d.close()
    subprocess.run(["sqlite3", tmp, "PRAGMA wal_checkpoint(TRUNCATE);"], check=True,
                   stdout=subprocess.DEVNULL)
    os.replace(tmp, path)
    return path, targets


def schema_version():
    """The SQLite schema's last migration number and a digest of the file
    that defines it: a cached dataset made by other migrations is built again."""
    text = open(os.path.join(REPO, "src", "store", "sqlite", "schema.c"), "rb").read()
    found = re.findall(rb"/\* (\d+):", text)
    return "%s-%s" % (found[-1].decode() if found else "0",
                      hashlib.sha256(text).hexdigest()[:8])


BIG = 1000000


def build_big(binary):
    """The cached dataset of the large scenarios: a segment of 1,000,000
    members, and a target "big" with 1,000,000 deliveries (one per
    notification). The tenant, segment and target come from the API; the
    million rows are written straight into the file in one transaction
    (going through the API would take hours), following
    src/store/sqlite/schema.c like tests/e2e/test_np6_stream.py does.
    Returns (path, segment id)."""
    path = os.path.join(OUT, "big-s%s-%d.db" % (schema_version(), BIG))
    if os.path.exists(path):
        return path, 1
    log("building %s (once): a %d-member segment, %d deliveries for one target"
        % (os.path.basename(path), BIG, BIG))
    tmp, d = building(binary, path)
    try:
        seg = json.loads(d.call("POST", "/v1/segments", {"name": "million"}))["id"]
        d.call("PUT", "/v1/targets/big", {})
    finally:
        d.close()
    assert seg == 1, seg
    now = int(time.time() * 1000)
    base = 1500000000000
    sql = """
PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;
BEGIN IMMEDIATE;
CREATE TEMP TABLE fx AS SELECT t.id AS tenant, t.next_notification_key AS first, g.tid AS big
  FROM tenants t JOIN targets g ON g.tenant_id = t.id AND g.ext_id = 'big';
INSERT INTO targets (tenant_id, ext_id, created_at, updated_at)
  WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < %(n)d - 1)
  SELECT fx.tenant, 'm' || i, %(now)d, %(now)d FROM fx, c;
INSERT INTO memberships (tenant_id, segment_id, tid, created_at)
  SELECT t.tenant_id, 1, t.tid, %(now)d FROM targets t, fx
  WHERE t.tenant_id = fx.tenant AND t.ext_id LIKE 'm%%' ORDER BY t.tid;
UPDATE segments SET members = %(n)d WHERE id = 1;
INSERT INTO notifications (tenant_id, nkey, guid, libelle, body, url, date_started, created_at,
  deliveries)
  WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < %(n)d - 1)
  SELECT fx.tenant, fx.first + i, randomblob(16), 'Notification ' || i,
  'A body of some length, as notifications have, number ' || i || '.', '/items/' || i,
  %(base)d + i * 1000, %(now)d, 1 FROM fx, c;
INSERT INTO deliveries (tenant_id, tid, routed_at, nkey, guid, updated_at)
  SELECT n.tenant_id, fx.big, n.date_started, n.nkey, randomblob(16), n.date_started
  FROM notifications n, fx WHERE n.tenant_id = fx.tenant AND n.nkey >= fx.first ORDER BY n.nkey;
UPDATE tenants SET next_notification_key = next_notification_key + %(n)d,
  deliveries = deliveries + %(n)d;
UPDATE targets SET deliveries = %(n)d WHERE tid = (SELECT big FROM fx);
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
""" % {"n": BIG, "now": now, "base": base}
    subprocess.run(["sqlite3", tmp], input=sql, text=True, check=True, stdout=subprocess.DEVNULL)
    os.replace(tmp, path)
    return path, seg


def curl_seconds(port, method, path, body=None):
    """Seconds one request took end to end (curl pinned to the load core),
    and the bytes it received."""
    argv = ["taskset", "-c", LOAD_CORE, "curl", "-sS", "-o", "/dev/null", "--max-time", "600",
            "-w", "%{http_code} %{time_total} %{size_download}", "-X", method,
            "-H", "X-Key: " + KEY, "http://127.0.0.1:%d%s" % (port, path)]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=660)
    status, secs, size = cp.stdout.split()
    if cp.returncode != 0 or not status.startswith("2"):
        raise SystemExit("bench: %s %s -> %s %s" % (method, path, status, cp.stderr))
    return float(secs), int(size)


def big_rows(binary, work):
    """Streaming one target's 1,000,000-delivery NP6 feed, and fanning a
    notification out to a 1,000,000-member segment (synchronous=full), each
    on a freshly started notifd: (name, rate, seconds, (peak RSS, peak private) KB)."""
    src, seg = build_big(binary)
    db = os.path.join(work, "big.db")
    shutil.copyfile(src, db)
    rows = []
    d = Notifd(binary, db)
    try:
        secs, size = curl_seconds(d.port, "GET", "/targets/big/notifications?sort=desc")
        rows.append(("stream a %s-delivery NP6 feed (items/s, %d MB)" % (
            format(BIG, ","), size // 1000000), BIG / secs, secs, d.memory_kb()))
    finally:
        d.close()
    d = Notifd(binary, db)
    try:
        secs, _ = curl_seconds(d.port, "POST", "/v1/notifications",
                               {"libelle": "To everyone", "body": "A fan-out.",
                                "segments": [seg]})
        rows.append(("fan-out to a %s-member segment (deliveries/s)" % format(BIG, ","),
                     BIG / secs, secs, d.memory_kb()))
    finally:
        d.close()
    os.remove(db)
    return rows


def delivery_ids(db, work):
    """A file of 1,000 random delivery ids (API3 GUIDs) of @db, one a line."""
    out = subprocess.run(["sqlite3", db, "SELECT hex(guid) FROM deliveries"
                          " WHERE deleted_at IS NULL ORDER BY random() LIMIT 1000"],
                         check=True, capture_output=True, text=True).stdout.split()
    path = os.path.join(work, "ids.txt")
    with open(path, "w") as f:
        for h in out:
            f.write("%s-%s-%s-%s-%s\n" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:]))
    return path


def raw_ceiling(binary, *args):
    """One run of a raw store ceiling program (bench/ceiling_*.c, built next
    to notifd), pinned like notifd: its JSON line."""
    prog = os.path.join(os.path.dirname(binary), args[0])
    if not os.path.exists(prog):
        raise SystemExit("bench: %s is missing (make builds it)" % prog)
    cp = subprocess.run(["taskset", "-c", SERVER_CORE, prog] + [str(a) for a in args[1:]],
                        capture_output=True, text=True, timeout=600)
    if cp.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (args[0], cp.stderr.strip()))
    return json.loads(cp.stdout)


def start_up(binary, work):
    """(ms from exec to the first 200 on an empty database, idle RSS in KB
    a second later)."""
    port = free_port()
    db = os.path.join(work, "empty.db")
    t0 = time.monotonic()
    p = start([binary, "--listen", "127.0.0.1:%d" % port, "--db", db, "--threads", "1"])
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                break
        except OSError:
            pass
        if time.monotonic() - t0 > 30:
            raise SystemExit("bench: notifd did not start on an empty database")
        time.sleep(0.001)
    ms = (time.monotonic() - t0) * 1000
    time.sleep(1)
    rss = 0
    with open("/proc/%d/status" % p.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    stop(p)
    return ms, rss


def postgres_rows(binary, work, seconds, lua, ingest_lua):
    """The PostgreSQL scenarios, on the 1,000-target dataset (moving the
    1M-delivery one in takes import several minutes: it checks each
    delivery): a throw-away server (fsync on) pinned with notifd to core 0,
    the dataset moved in with export/import, each scenario beside
    bench/ceiling_pg.c doing the same store work where it has a mode for it,
    and beside notifd on SQLite with the same data. Rows of (name,
    (req/s, p50, p99) on PostgreSQL, raw ceiling or None, req/s on SQLite)."""
    dataset, ntargets = build_dataset(binary, True)
    per_target = 20
    sqlite_db = os.path.join(work, "small.db")
    shutil.copyfile(dataset, sqlite_db)
    # name, path, wrk script, connections, deliveries per request
    scenarios = [
        ("NP6 feed, random target, sort=desc", "/targets/{t}/notifications?sort=desc",
         lua, 64, 1),
        ("API3 LIST member_id, page of 20", "/api3/notification?member_id={t}&page_size=20",
         lua, 64, 1),
        ("ingest, 1,000 targets per request (deliveries/s)", "/", ingest_lua, 2, 1000),
    ]

    def measure(db, which):
        d = Notifd(binary, db)
        try:
            out = []
            for _, path, script, conns, per in which:
                rps, p50, p99 = wrk(d.port, path, seconds, script=script, conns=conns,
                                    targets=ntargets)
                settle(d.port)
                out.append((rps * per, p50, p99))
            return out
        finally:
            d.close()

    try:
        srv = pg_server.start(options="-c fsync=on")
    except pg_server.Skip as e:
        log("POSTGRESQL SCENARIOS SKIPPED: %s" % e)
        return []
    try:
        pid = open(os.path.join(srv.datadir, "postmaster.pid")).readline().strip()
        subprocess.run(["taskset", "-a", "-p", "-c", SERVER_CORE, pid], check=True,
                       stdout=subprocess.DEVNULL)
        ci = srv.create_database("bench")
        dump = os.path.join(work, "dump.jsonl")
        log("moving the dataset into PostgreSQL (export, import)")
        subprocess.run([binary, "export", dump, "--db", sqlite_db], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([binary, "import", dump, "--db", ci], check=True,
                       stdout=subprocess.DEVNULL)
        os.remove(dump)
        srv.psql("VACUUM ANALYZE", dbname=pg_server.conninfo_dbname(ci))
        # The reads and their raw ceilings first, on the data as imported:
        # after the ingest, a target's newest deliveries are other rows, and
        # the server is still writing the ingest's pages back.
        reads, ingest = scenarios[:2], scenarios[2:]
        on_sqlite = measure(sqlite_db, reads)
        on_pg = measure(ci, reads)
        raws = [raw_ceiling(binary, "ceiling_pg", "read", ci, seconds,
                            per_target)["queries_per_s"],
                raw_ceiling(binary, "ceiling_pg", "list", ci, seconds, 20)["queries_per_s"]]
        on_sqlite += measure(sqlite_db, ingest)
        on_pg += measure(ci, ingest)
        srv.psql("CHECKPOINT", dbname=pg_server.conninfo_dbname(ci))
        raws.append(raw_ceiling(binary, "ceiling_pg", "insert", ci, 50000, 1000)["rows_per_s"])
        return [("PostgreSQL, 1,000 targets: " + sc[0], pg, raw, sq[0])
                for sc, pg, raw, sq in zip(scenarios, on_pg, raws, on_sqlite)]
    finally:
        srv.stop()


def settle(port):
    """Waits until a server has worked off what a load left queued (a slow
    scenario's last requests), so the next scenario starts on an idle one."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        wait_http(port)
        if time.monotonic() - t0 < 0.05:
            return
        time.sleep(0.2)


def wrk(port, path, seconds, script=None, conns=64, targets=1, ids=None):
    """(requests/s, p50 ms, p99 ms) of one bounded wrk run; with a script,
    @path, @targets and @ids (a file of ids for "{id}") are its arguments."""
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds,
            "--timeout", "30s", "--latency", "-H", "X-Key: " + KEY]
    if script:
        argv += ["-s", script, "http://127.0.0.1:%d/" % port, "--", path, str(targets)]
        argv += [ids] if ids else []
    else:
        argv += ["http://127.0.0.1:%d%s" % (port, path)]
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    out = cp.stdout
    if cp.returncode != 0 or "Requests/sec" not in out:
        raise SystemExit("bench: wrk failed on %s:\n%s%s" % (path, out, cp.stderr))
    if "Non-2xx" in out:
        raise SystemExit("bench: errors while loading %s:\n%s" % (path, out))

    def ms(label):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)" % label, out, re.M)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return rps, ms("50%"), ms("99%")


ROUNDS = 5


def turn_seconds(seconds, quick):
    """A run's length in a turn: a fifth of @seconds, rounded up, at least
    2 s (1 s in the quick run)."""
    return max(1 if quick else 2, -(-seconds // ROUNDS))


def interleaved(ceiling_port, port, path, each, **load):
    """(nginx's run, notifd's run, ratio): ROUNDS turns, each an nginx run
    then a notifd run of @each seconds; of each, the run with the median
    throughput, and the median of the turns' own ratios. One run of each,
    one after the other, left the ratio to whatever the machine did in those
    seconds: nginx alone moved between ~78,000 and ~171,000 requests/s from
    one run to the next. The medians of three turns each still moved a
    ratio by up to a fifth between runs on a day the machine drifted; a
    turn's two runs are adjacent in time, so its ratio sees one state of the
    machine."""
    ceilings, gots = [], []
    for _ in range(ROUNDS):
        ceilings.append(wrk(ceiling_port, "/static", each))
        gots.append(wrk(port, path, each, **load))
        settle(port)
    ratio = sorted(g[0] / c[0] for c, g in zip(ceilings, gots))[ROUNDS // 2]
    return sorted(ceilings)[ROUNDS // 2], sorted(gots)[ROUNDS // 2], ratio


RANDOM_LUA = """
local fmt, n, ids
function init(args)
  fmt = args[1]; n = tonumber(args[2]); math.randomseed(7); ids = {}
  if args[3] then for line in io.lines(args[3]) do ids[#ids + 1] = line end end
end
function request()
  local p = (string.gsub(fmt, "{t}", "t" .. math.random(0, n - 1)))
  if #ids > 0 then p = (string.gsub(p, "{id}", ids[math.random(1, #ids)])) end
  return wrk.format("GET", p)
end
"""


class Nginx:
    """nginx serving one file at /static, pinned like notifd."""

    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(dir=workdir)
        # nginx's workers drop to an unprivileged user when started as root.
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("worker_processes 1; daemon off; pid %(d)s/nginx.pid;"
                    " error_log %(d)s/error.log; events { worker_connections 1024; }"
                    " http { access_log off; server { listen 127.0.0.1:%(p)d;"
                    " location = /static { default_type application/json; alias %(d)s/body; }"
                    " } }" % {"d": self.dir, "p": self.port})
        with open(os.path.join(self.dir, "body"), "wb") as f:
            f.write(b"{}")
        self.proc = start(["nginx", "-c", os.path.join(self.dir, "nginx.conf"), "-p", self.dir])
        wait_http(self.port, "/static")

    def serve(self, body):
        with open(os.path.join(self.dir, "body"), "wb") as f:
            f.write(body)
        os.chmod(os.path.join(self.dir, "body"), 0o644)

    def close(self):
        stop(self.proc)


def utc_ms(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def local_day_ms(day, zone):
    """[from, to) in ms of the local @day (a date) in the IANA @zone."""
    z = zoneinfo.ZoneInfo(zone)
    start = datetime.datetime(day.year, day.month, day.day, tzinfo=z)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(), tzinfo=z)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


WINDOW = ("2024-02-05T00:00:00Z", "2024-02-10T00:00:00Z")
STARTED = datetime.date(2024, 2, 3)  # the API3 date_started filter's day

SCENARIOS = [
    # name, path ({t}: a random target, {id}: a random delivery), goal (ratio to
    # nginx serving the same bytes), and the shape bench/ceiling_sqlite.c runs
    # for the same store work ("per_target": the dataset's deliveries a target;
    # "local_day": the bounds of the date_started day in the tenant's zone).
    ("NP6 feed, random target, sort=desc", "/targets/{t}/notifications?sort=desc", 0.5,
     ("feed", "per_target")),
    ("NP6 feed with a start/end window",
     "/targets/{t}/notifications?start=%s&end=%s" % WINDOW, 0.45,
     ("feed", "per_target") + tuple(utc_ms(t) for t in WINDOW)),
    ("API3 LIST member_id, page of 20", "/api3/notification?member_id={t}&page_size=20", 0.35,
     ("member",)),
    ("API3 LIST member_id, page of 20, XML",
     "/api3/notification?member_id={t}&page_size=20&format=xml", 0.35, ("member",)),
    ("API3 LIST unfiltered, page 3", "/api3/notification?page=3", 0.3, ("page3",)),
    ("API3 LIST order=title DESC", "/api3/notification?order=title%20DESC", 0.3, ("title",)),
    ("API3 LIST campaign_id", "/api3/notification?campaign_id=spring", 0.3,
     ("campaign", "spring")),
    ("API3 LIST date_started=MM/DD/YYYY", "/api3/notification?date_started=" + STARTED.strftime("%m/%d/%Y"), 0.15,
     ("day", "local_day")),
    ("native feed page", "/v1/targets/{t}/notifications", 0.4, ("feed", 50)),
    ("API3 GET one notification", "/api3/notification/{id}", 0.4, ("get",)),
]


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d cores, %s" % (cpu or platform.machine(), os.cpu_count() or 0,
                                 platform.platform(terse=True))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "notifd"))
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="a one-minute subset")
    ap.add_argument("--no-record", action="store_true", help="do not write bench/RESULTS.md")
    ap.add_argument("--label", default="", help="said in the entry's heading, e.g. which build")
    args = ap.parse_args()
    for tool in ("wrk", "nginx", "taskset", "sqlite3", "curl"):
        if not shutil.which(tool):
            raise SystemExit("bench: %s is missing (make bench installs it)" % tool)
    # This script (its memory sampler included) runs beside wrk, off the
    # server's core: every server measured has that core to itself.
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    seconds = 2 if args.quick else args.seconds
    turn = turn_seconds(seconds, args.quick)
    binary = os.path.abspath(args.binary)
    dataset, ntargets = build_dataset(binary, args.quick)
    per_target = 20 if args.quick else 100
    work = tempfile.mkdtemp(prefix="nd_bench_")
    rows = []
    try:
        db = os.path.join(work, "bench.db")
        shutil.copyfile(dataset, db)
        lua = os.path.join(work, "random.lua")
        with open(lua, "w") as f:
            f.write(RANDOM_LUA)
        ids = delivery_ids(db, work)
        zone = subprocess.run(["sqlite3", db, "SELECT time_zone FROM tenants WHERE id = 1"],
                              check=True, capture_output=True, text=True).stdout.strip()
        day = local_day_ms(STARTED, zone)
        with open(ids) as f:
            first = f.readline().strip()
        d = Notifd(binary, db)
        ng = Nginx(work)
        scenarios = SCENARIOS[:3] if args.quick else SCENARIOS
        for name, path, goal, shape in scenarios:
            body = d.call("GET", path.replace("{t}", "t1").replace("{id}", first))
            ng.serve(body)
            ceiling, got, ratio = interleaved(ng.port, d.port, path, turn, script=lua,
                                              targets=ntargets, ids=ids)
            shape = [v for k in shape for v in
                     ([per_target] if k == "per_target" else day if k == "local_day" else [k])]
            raw = raw_ceiling(binary, "ceiling_sqlite", "read", db, seconds,
                              *shape)["queries_per_s"]
            rows.append((name, got, ceiling[0], ratio, goal, len(body), raw))
            log("%s: %.0f req/s, ceiling %.0f" % (name, got[0], ceiling[0]))
        hwm, private = d.memory_kb()
        d.close()
        ng.close()

        # Ingest: 1,000 explicit targets per request, synchronous=full.
        d = Notifd(binary, db)
        ingest = os.path.join(work, "ingest.lua")
        with open(ingest, "w") as f:
            f.write('wrk.method = "POST"\nwrk.path = "/v1/notifications"\n'
                    'wrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n'
                    % json.dumps(json.dumps({"libelle": "ingest", "targets": [
                        "t%d" % i for i in range(1000)]})))
        got = wrk(d.port, "/", seconds, script=ingest, conns=2)
        ingest_row = ("ingest, 1,000 targets per request (deliveries/s)",
                      (got[0] * 1000, got[1], got[2]))
        d.close()
        # The same delivery rows inserted raw, 1,000 per transaction, into a
        # fresh table clustered like notifd's, and with its secondary indexes.
        raw_rows = 50000 if args.quick else 200000
        raw_insert = {}
        for variant in ("clustered", "indexed"):
            path = os.path.join(work, "raw-%s.db" % variant)
            extra = ["clustered"] if variant == "clustered" else []
            raw_insert[variant] = raw_ceiling(binary, "ceiling_sqlite", "insert", path, raw_rows,
                                          1000, *extra)["rows_per_s"]
        boot_ms, idle_kb = start_up(binary, work)
        big = [] if args.quick else big_rows(binary, work)
        pg_rows = [] if args.quick else postgres_rows(binary, work, seconds, lua, ingest)
    finally:
        for p in list(procs):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)

    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["## %s, commit %s%s%s" % (now, commit, " (quick)" if args.quick else "",
                                       ", " + args.label if args.label else ""), "",
             "Machine: %s. Dataset: %d targets; SQLite, synchronous=full; notifd and its"
             " ceiling on core %s, wrk on core %s (64 connections, %d s). Each read"
             " scenario runs %d turns, each nginx for %d s then notifd for %d s; it"
             " reports the median run of each, and the median of the turns' ratios."
             % (machine(), ntargets, SERVER_CORE, LOAD_CORE, seconds, ROUNDS, turn, turn),
             "",
             "The raw store is bench/ceiling_sqlite.c on the same core running each"
             " request's statements as notifd runs them (the scenario's reads and the"
             " key's confirmation, in one read transaction), without HTTP or JSON. Server and store share one core, so no"
             " server can answer faster than nginx serves the bytes plus the raw store"
             " reads them: \"best\" is that bound as a ratio to nginx, raw / (nginx + raw)."
             " A goal above it is out of reach on this design.", "",
             "| scenario | req/s | p50 ms | p99 ms | bytes | nginx req/s | ratio | goal"
             " | raw store | notifd / raw | best |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, (rps, p50, p99), top, ratio, goal, size, raw in rows:
        best = raw / (top + raw)
        verdict = ("" if ratio >= goal else "below " if best >= goal
                   else "out of reach: ")
        lines.append("| %s | %.0f | %.2f | %.2f | %d | %.0f | %.2f | %s%.2f | %.0f | %.2f"
                     " | %.2f |" % (name, rps, p50, p99, size, top, ratio, verdict, goal,
                                    raw, rps / raw, best))
    name, (rate, p50, p99) = ingest_row
    top = raw_insert["clustered"]
    # Out of reach when the raw insert itself, writing the indexes notifd
    # writes, stays under the goal.
    verdict = ("" if rate / top >= 0.7 else "below " if raw_insert["indexed"] / top >= 0.7
               else "out of reach: ")
    lines.append("| %s | %.0f | %.2f | %.2f | | | | %s0.70 of the raw insert | %.0f | %.2f | |"
                 % (name, rate, p50, p99, verdict, top, rate / top))
    for big_name, big_rate, _, (big_hwm, big_private) in big:
        goal = 500000 if big_name.startswith("stream") else 100000
        lines.append("| %s | %.0f | | | | | | %s%s/s, peak private memory %.1f MB (goal 64),"
                     " RSS with the mapped database %.1f MB | | | |"
                     % (big_name, big_rate, "" if big_rate >= goal and big_private <= 64 * 1024
                        else "below ", format(goal, ","), big_private / 1024, big_hwm / 1024))
    for name, (rps, p50, p99), raw, sqlite in pg_rows:
        lines.append("| %s | %.0f | %.2f | %.2f | | | | %s | %s | %s | |"
                     % (name, rps, p50, p99,
                        ("" if rps / raw >= 0.5 else "below ") + "0.50 of raw libpq" if raw
                        else "", "%.0f" % raw if raw else "", "%.2f" % (rps / raw) if raw
                        else ""))
    if pg_rows:
        lines += ["", "The same 1,000-target scenarios on SQLite, same run: "
                  + "; ".join("%s %.0f (PostgreSQL / SQLite %.2f)"
                              % (name.split(": ", 1)[1], sqlite, rps[0] / sqlite)
                              for name, rps, _, sqlite in pg_rows) + "."]
    lines += ["", "Raw insert with notifd's five secondary indexes: %.0f rows/s, %.2f of the"
              " clustered insert (ingest: %.2f of it)."
              % (raw_insert["indexed"], raw_insert["indexed"] / top, rate / raw_insert["indexed"]),
              "Reading notifd: peak private memory %.1f MB, peak RSS with the mapped"
              " database %.1f MB. Start to first 200 on an empty"
              " database: %.0f ms (goal 100); idle RSS %.1f MB (goal 16)."
              % (private / 1024, hwm / 1024, boot_ms, idle_kb / 1024), ""]
    table = "\n".join(lines)
    print(table)
    if not args.no_record:
        head = "# Benchmark results\n\nNewest first; `make bench` adds one entry per run.\n\n"
        old = ""
        if os.path.exists(RESULTS):
            old = open(RESULTS).read()
            old = old[len(head):] if old.startswith(head) else old
        with open(RESULTS, "w") as f:
            f.write(head + table + "\n" + old)


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in list(procs):
            stop(p)
