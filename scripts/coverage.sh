#!/bin/sh
# `make coverage`: builds notifd and its tests with gcov (build-cov/), runs
# the whole suite once per backend (SQLite: everything but the PostgreSQL
# leg; PostgreSQL: that leg, whose store and end-to-end suites run against
# a throw-away server, and the unit tests that need no store) and prints
# line and branch coverage of src/, per file and in total, for each; the
# other backend's store is left out of a leg's figures. The build injects
# failures on demand (src/util/fault.h), so tests/e2e/test_faults.py runs
# too. Reports stay in build-cov/coverage-*.txt.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/build-cov
if [ ! -f "$out/build.ninja" ]; then
	meson setup "$out" "$here" --werror --buildtype=debug -Db_coverage=true \
	  -Dfault_injection=true
else
	meson setup --reconfigure "$out" -Dfault_injection=true >/dev/null
fi
meson compile -C "$out"
status=0
for leg in sqlite postgres; do
	find "$out" -name '*.gcda' -delete
	if [ "$leg" = sqlite ]; then
		args="--no-suite pg" other=postgres
	else
		args="--suite pg" other=sqlite
	fi
	echo "== coverage: the $leg leg"
	CHECK_ARGS="$args" "$here/scripts/check.sh" "$out" || status=1
	# The unit tests of what does not depend on the backend (time, JSON,
	# configuration, ...) count for PostgreSQL too; the SQLite store's own
	# suite does not.
	if [ "$leg" = postgres ]; then
		meson test -C "$out" --suite unit --no-suite store --print-errorlogs \
		  --num-processes 2 || status=1
	fi
	for metric in line branch; do
		flag=""
		[ "$metric" = branch ] && flag="--branches"
		# The fault injection itself (src/util/fault.c and the SQLite
		# store's fault.c) is in no build that serves users: left out.
		# A process that aborts on purpose (TestOutOfMemory) writes its
		# counters first, and may catch another thread between a call
		# and its return: gcov then says "returned -1" for that call,
		# a line gcovr 5.2 cannot parse. The counts are sound (what ran
		# up to the dump); only that line is skipped.
		gcovr -r "$here" --object-directory "$out" -f "$here/src/" \
		  -e "$here/src/store/$other/" -e '.*/fault\.c$' $flag \
		  --gcov-ignore-parse-errors \
		  -o "$out/coverage-$leg-$metric.txt" --txt
		echo "-- $leg leg, $metric coverage (build-cov/coverage-$leg-$metric.txt):"
		tail -n 3 "$out/coverage-$leg-$metric.txt"
	done
done
exit $status
