# notifd - the user verbs. Meson and Ninja do the building.
#
#   make          build build/notifd
#   make run      build, seed the demo tenant, serve on 127.0.0.1:8080
#   make check    build, run every test, then run them again under ASan + UBSan
#                 (that build also injects failures: tests/e2e/test_faults.py)
#   make valgrind the end-to-end suites with every notifd under valgrind: zero
#                 errors and zero definitely lost blocks, or the test fails
#   make fuzz     the fuzz harnesses under libFuzzer, FUZZ_SECONDS each (default 60)
#   make coverage line and branch coverage of src/ by the whole suite, per backend
#   make deps     install missing Debian packages (as root) or print the apt-get line
#   make bench    hot paths against ceilings measured in the same run (QUICK=1: a
#                 one-minute subset; see bench/README.md)

BUILD    := build
ASAN     := build-asan
MESON    := meson
# The Debian packages the build, the tests and `make run` need. psql
# (postgresql-client) creates the PostgreSQL leg's databases; the server
# itself (postgresql) is installed by tests/pg/pg_server.py only when its
# binaries are missing.
PKGS     := meson ninja-build pkg-config gcc libc6-dev \
            libmicrohttpd-dev libjansson-dev libsqlite3-dev libsodium-dev uuid-dev \
            libicu-dev libpq-dev \
            libcmocka-dev python3 curl postgresql-client

.PHONY: all deps build asan run check valgrind fuzz coverage unit e2e bench clean

all: build

deps:
	@scripts/deps.sh $(PKGS)

$(BUILD)/build.ninja:
	$(MESON) setup $(BUILD) --werror

$(ASAN)/build.ninja:
	$(MESON) setup $(ASAN) --werror --buildtype=debug \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dfault_injection=true

build: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD)

asan: deps $(ASAN)/build.ninja
	$(MESON) compile -C $(ASAN)

run: build
	@scripts/run.sh $(BUILD)/notifd

check: build asan
	@scripts/check.sh $(BUILD) $(ASAN)

valgrind: build
	@scripts/deps.sh valgrind
	@scripts/valgrind.sh $(BUILD)

fuzz: deps
	@scripts/deps.sh clang
	@scripts/fuzz.sh

coverage: deps
	@scripts/deps.sh gcovr
	@scripts/coverage.sh

unit: build
	$(MESON) test -C $(BUILD) --suite unit --print-errorlogs

e2e: build
	$(MESON) test -C $(BUILD) --suite e2e --print-errorlogs

bench: build
	@scripts/deps.sh wrk nginx-light sqlite3 curl
ifdef QUICK
	bench/bench.py --quick --binary $(BUILD)/notifd
else
	bench/bench.py --binary $(BUILD)/notifd
	bench/http.sh $(BUILD)/notifd
	bench/list.py $(BUILD)/notifd
endif

clean:
	rm -rf $(BUILD) $(ASAN)
