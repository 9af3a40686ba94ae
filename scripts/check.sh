#!/bin/sh
# `make check`: every test suite on the normal build, then again on the
# AddressSanitizer + UndefinedBehaviorSanitizer build; ends with one
# "N passed, N failed, N skipped" line over both. $CHECK_ARGS, when set,
# goes to every `meson test` (make valgrind chooses its suites with it).
#
# The *_pg tests (the PostgreSQL leg) share ONE throw-away server, started
# here with tests/pg/pg_server.py (initdb into a directory under /tmp, Unix
# socket only, run as nobody when we are root) and stopped and removed on
# exit. When $NOTIFD_TEST_PG is already set, that server is used instead.
# When no server can be started, the reason is printed loudly and every
# *_pg test reports SKIP by itself (never "passed").
set -u
status=0
here=$(cd "$(dirname "$0")/.." && pwd)
pg_server="$here/tests/pg/pg_server.py"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

pg_dir=""
stop_pg() {
	if [ -n "$pg_dir" ]; then
		python3 "$pg_server" stop "$pg_dir" || echo "check.sh: could not remove $pg_dir" >&2
		pg_dir=""
	fi
}
trap stop_pg EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${NOTIFD_TEST_PG:-}" ]; then
	echo "== PostgreSQL leg: using NOTIFD_TEST_PG=$NOTIFD_TEST_PG"
else
	# --owner $$: should this shell die without running its trap, a
	# watchdog still stops and removes the server.
	pg_vars=$(python3 "$pg_server" start --owner $$)
	rc=$?
	if [ $rc -eq 0 ]; then
		eval "$pg_vars"
		export NOTIFD_TEST_PG NOTIFD_TEST_PG_DIR
		pg_dir=$NOTIFD_TEST_PG_DIR
		echo "== PostgreSQL leg: temporary server in $pg_dir"
	else
		# pg_server.py printed the loud reason on stderr. Each *_pg test
		# tries once more by itself (without reinstalling) and exits 77.
		echo "== PostgreSQL leg: NO SERVER (pg_server.py start exited $rc); every *_pg test will report SKIP" >&2
		export NOTIFD_TEST_PG_NO_INSTALL=1
		[ $rc -eq 77 ] || status=1   # a crash of pg_server.py itself is a failure
	fi
fi

for dir in "$@"; do
	echo "== meson test in $dir"
	rm -f "$dir/meson-logs/testlog.json"  # a failed rebuild must not count old results
	# shellcheck disable=SC2086 # $CHECK_ARGS is a list of meson test options
	meson test -C "$dir" --print-errorlogs --num-processes 2 ${CHECK_ARGS:-} || status=1
done
python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
pg_skipped = []
for d in sys.argv[1:]:
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        rec = json.loads(line)
        result = rec.get("result", "FAIL")
        key = result if result in counts else ("OK" if result == "EXPECTEDFAIL" else "FAIL")
        counts[key] += 1
        name = rec.get("name", "").rpartition(" / ")[2]
        if key == "SKIP" and name.endswith("_pg"):
            pg_skipped.append(f"{d}/{name}")
if pg_skipped:
    print(f"!! PostgreSQL leg: {len(pg_skipped)} test(s) SKIPPED, NOT run against PostgreSQL: "
          + " ".join(pg_skipped))
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $status
