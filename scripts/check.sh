#!/bin/sh
# `make check`: every test suite on the normal build, then again on the
# AddressSanitizer + UndefinedBehaviorSanitizer build; ends with one
# "N passed, N failed, N skipped" line over both.
set -u
status=0
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
for dir in "$@"; do
	echo "== meson test in $dir"
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
done
python3 - "$@" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for d in sys.argv[1:]:
    try:
        lines = open(f"{d}/meson-logs/testlog.json").read().splitlines()
    except OSError:
        continue
    for line in lines:
        result = json.loads(line).get("result", "FAIL")
        key = result if result in counts else ("OK" if result == "EXPECTEDFAIL" else "FAIL")
        counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit $status
