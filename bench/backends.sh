#!/bin/sh
# One notifd instance on SQLite beside one on PostgreSQL, same requests,
# same run.
#
# A throw-away PostgreSQL server is started with tests/pg/pg_server.py (a
# Unix socket in a temporary directory, fsync on, removed at the end). Each
# notifd runs with one worker thread, pinned with its database server to
# core 0; wrk (1 thread, 32 connections, bounded in time) runs on core 1.
# Both stores get the same data through the API: 1,000 targets with 20
# deliveries each. Measured: the NP6 feed of a random target, an API3 LIST
# of a random member, and ingest (POST /v1/notifications to 1,000 explicit
# targets). The last column is PostgreSQL / SQLite.
#
# usage: bench/backends.sh [build/notifd] [seconds]     (needs wrk)
set -eu
bin=$(realpath "${1:-build/notifd}")
secs=${2:-5}
here=$(cd "$(dirname "$0")" && pwd)
for tool in wrk taskset curl python3; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=""
pg_dir=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	[ -n "$pg_dir" ] && python3 "$here/../tests/pg/pg_server.py" stop "$pg_dir" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# fsync on: the tests turn it off, a benchmark must not.
eval "$(python3 "$here/../tests/pg/pg_server.py" start --options "-c fsync=on")"
pg_dir=$NOTIFD_TEST_PG_DIR
# The postmaster shares core 0 with notifd; its backends inherit that.
taskset -a -p -c 0 "$(head -1 "$pg_dir/data/postmaster.pid")" >/dev/null
psql -X -q -d "$NOTIFD_TEST_PG" -c "CREATE DATABASE bench" >/dev/null
pg_db=$(echo "$NOTIFD_TEST_PG" | sed 's/dbname=[^ ]*/dbname=bench/')

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
key=bench-admin-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

start() { # db: starts notifd on it, sets $port
	port=$(free_port)
	taskset -c 0 "$bin" --listen "127.0.0.1:$port" --db "$1" --admin-key "$key" --threads 1 \
		>/dev/null 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do
		curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		sleep 0.1
	done
	echo "bench: notifd on $1 did not come up" >&2
	exit 1
}

targets=$(python3 -c 'import json; print(json.dumps(["t%d" % i for i in range(1000)]))')
seed() { # port
	for i in $(seq 20); do
		curl -fs -o /dev/null -X POST "http://127.0.0.1:$1/v1/notifications" \
			-H "X-Key: $key" -d "{\"libelle\":\"seed $i\",\"targets\":$targets}"
	done
}

cat > "$tmp/random.lua" <<'LUA'
-- A random target of t0..t999 in the path given as the script argument.
local fmt
function init(args) fmt = args[1]; math.randomseed(os.time()) end
function request()
	return wrk.format("GET", string.format(fmt, math.random(0, 999)))
end
LUA
cat > "$tmp/ingest.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v1/notifications"
wrk.body = '{"libelle":"bench","targets":$targets}'
wrk.headers["Content-Type"] = "application/json"
LUA

# Requests per second; a run with any answer other than 2xx is refused,
# since a fast error says nothing about the store.
rps() {
	out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" -H "X-Key: $key" "$@")
	if echo "$out" | grep -q "Non-2xx"; then
		echo "bench: wrk $* got errors:" >&2
		echo "$out" >&2
		exit 1
	fi
	echo "$out" | awk '/Requests\/sec/ {print int($2)}'
}

start "$tmp/bench.db"
sq_port=$port
start "$pg_db"
pg_port=$port
seed "$sq_port"
seed "$pg_port"
# Steady state: PostgreSQL plans from statistics, which autovacuum gathers
# a while after the data arrives; a benchmark must not wait for it.
psql -X -q -d "$pg_db" -c "VACUUM ANALYZE"

measure() { # label, script, path (or "-"), more wrk options ...
	label=$1 script=$2 path=$3; shift 3
	a=$(rps -s "$script" "$@" "http://127.0.0.1:$sq_port/" -- "$path")
	b=$(rps -s "$script" "$@" "http://127.0.0.1:$pg_port/" -- "$path")
	[ -n "$a" ] && [ -n "$b" ] || exit 1
	awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN { printf "%-40s %9d %11d %7.2f\n", l, a, b, b / a }'
}

printf "%-40s %9s %11s %7s\n" "request (req/s)" "SQLite" "PostgreSQL" "ratio"
measure "NP6 feed, random target, sort=desc" "$tmp/random.lua" \
	"/targets/t%d/notifications?sort=desc"
measure "API3 LIST member_id, page of 20" "$tmp/random.lua" \
	"/api3/notification?member_id=t%d&page_size=20"
measure "ingest, 1,000 targets per request" "$tmp/ingest.lua" - -c 2
echo "(ingest: each request makes 1,000 deliveries)"
