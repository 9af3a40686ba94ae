#!/bin/sh
# `make valgrind`: the end-to-end suites, on SQLite and on PostgreSQL, with
# every notifd they start running under valgrind (memcheck). Any error, or
# any definitely lost block, makes that notifd exit 99 instead of 0, which
# fails its test. The million-delivery stream suite is left out: under
# valgrind it would take hours (it runs under AddressSanitizer in make check).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
NOTIFD_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30"
CHECK_ARGS="--suite e2e --no-suite slow --timeout-multiplier 10"
export NOTIFD_WRAP CHECK_ARGS
exec "$here/scripts/check.sh" "$@"
