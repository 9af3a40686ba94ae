#!/bin/sh
# HTTP throughput of notifd against a ceiling measured in the same run.
#
# The ceiling is nginx answering a fixed 144-byte JSON body with `return 200`:
# about as fast as a keep-alive HTTP/1.1 server gets on this machine. notifd
# is measured on /healthz (no key, one store ping) and on an authenticated
# GET /v1/targets/{id} (key hash lookup + target read). Each server is pinned
# to core 0 with one worker, wrk to core 1; every run is bounded in time.
#
# usage: bench/http.sh [build/notifd] [seconds]      (needs wrk and nginx-light)
set -eu
bin=$(realpath "${1:-build/notifd}")
secs=${2:-5}
for tool in wrk nginx taskset; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install wrk nginx-light)" >&2; exit 1; }
done
tmp=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$1$2" -H "X-Key: $key" && return 0; sleep 0.1; done; echo "bench: server on $1 did not come up" >&2; exit 1; }
rps() { taskset -c 1 wrk -t1 -c32 -d"${secs}s" "$@" | awk '/Requests\/sec/ {print int($2)}'; }

key=bench-admin-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
body='{"id":"3DA28600-9BA5-4750-A8EE-0D2D16F3D5ED","status":"ok","items":[1,2,3],"note":"a fixed body of one hundred forty-four bytes"}'

np=$(free_port)
cat > "$tmp/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	server {
		listen 127.0.0.1:$np;
		location / { default_type application/json; return 200 '$body'; }
	}
}
CONF
taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" &
pids="$pids $!"

dp=$(free_port)
taskset -c 0 "$bin" --listen "127.0.0.1:$dp" --db "$tmp/bench.db" --admin-key "$key" \
	--threads 1 --synchronous normal 2>/dev/null &
pids="$pids $!"
wait_port "$np" /
wait_port "$dp" /healthz
curl -fs -o /dev/null -X PUT "http://127.0.0.1:$dp/v1/targets/alice" -H "X-Key: $key" \
	-d '{"name":"Alice","email":"alice@example.com","attributes":{"plan":"pro"}}'

ceiling=$(rps "http://127.0.0.1:$np/")
health=$(rps "http://127.0.0.1:$dp/healthz")
target=$(rps -H "X-Key: $key" "http://127.0.0.1:$dp/v1/targets/alice")
awk -v c="$ceiling" -v h="$health" -v t="$target" 'BEGIN {
	printf "%-34s %10s %8s\n", "server / route", "req/s", "ratio"
	printf "%-34s %10d %8.2f\n", "nginx return 200 (ceiling)", c, 1
	printf "%-34s %10d %8.2f\n", "notifd GET /healthz", h, h / c
	printf "%-34s %10d %8.2f\n", "notifd GET /v1/targets/{id} (auth)", t, t / c
}'
