#!/bin/sh
# `make fuzz [FUZZ_SECONDS=N]`: builds the harnesses of tests/fuzz with
# clang's libFuzzer, AddressSanitizer and UBSan (build-fuzz/), then runs each
# for N seconds (default 60) from its corpus. New inputs land in
# build-fuzz/corpus/<name>/; a crash leaves its input in build-fuzz/ and
# fails the run. `scripts/fuzz.sh merge` folds what a run found, minimized,
# into tests/fuzz/corpus/, which make check replays.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=$here/build-fuzz
seconds=${FUZZ_SECONDS:-60}
targets="time order decode json xml config"

if [ ! -f "$out/build.ninja" ]; then
	CC=clang meson setup "$out" "$here" --werror --buildtype=debugoptimized \
	  -Dfuzzing=true -Dtests=disabled -Db_sanitize=address,undefined -Db_lundef=false \
	  -Dc_args='-fsanitize=fuzzer-no-link -Wno-string-concatenation'
fi
meson compile -C "$out"

if [ "${1:-}" = merge ]; then
	for t in $targets; do
		mkdir -p "$out/corpus/$t"
		"$out/fuzz_$t" -merge=1 "$here/tests/fuzz/corpus/$t" "$out/corpus/$t"
	done
	exit 0
fi

status=0
for t in $targets; do
	mkdir -p "$out/corpus/$t"
	echo "== fuzz_$t for $seconds s"
	(cd "$out" && "./fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
	   "corpus/$t" "$here/tests/fuzz/corpus/$t") || status=1
done
exit $status
