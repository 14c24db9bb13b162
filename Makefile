# pg_cutover: PGXS build of the extension, plus the unit tests, TAP tests, benchmarks and the test runner.
#
#   make && sudo make install     build and install the extension
#   make test                     every suite (installs missing Debian packages when run as root)
#   make test-full                the same with the randomized crash test whole (20 kills, not 5)
#   make test-pg17 / test-pg18    the version matrix alone: the extension against PostgreSQL 17 or 18
#                                 (test/pgversions.sh fetches a throwaway toolchain into build/pgN)
#   make installcheck             pg_regress against a throwaway instance (not as root)
#   make unittest                 GoogleTest over extension/core/
#   make prove_installcheck       TAP tests with two real clusters (not as root)
#   make bench                    test/bench/checksum.sh (times the installed extension)
#   make bench-pull               test/bench/pull.sh: migrate_pull against a COPY pipe and postgres_fdw
#   make bench-export             test/bench/export.sh: cutover export against psql COPY TO a file
#   make bench-diff               test/bench/diff.sh: migrate_diff finding 10 changed rows, against migrate_verify,
#                                 and over the key ranges that differed against the whole table
#   make bench-remap              test/bench/remap.sh: remapping by value against the build before it, kept-out
#                                 columns and migrate_checksum; migrate_audit_ids' memory (installs the baseline)
#   make bench-verify             test/bench/verify.sh: migrate_verify streaming the source's rows, against the
#                                 source hashing them in SQL and against the source's bare COPY
#   make bench-users              test/bench/users.sh: cutover users against the emulator at 50 ms a request
#   make bench-split              test/bench/split.sh: cutover pull and verify -j 2 of one big table (key ranges)
#                                 against -j 1
#   make demo / make demo-stop    two throwaway clusters, a Supabase-shaped source, verification

EXTVERSION = 0.1.0

MODULE_big = pg_cutover
MODULEDIR = extension
CORE_SRCS = $(sort $(wildcard extension/core/*.cpp))
EXT_SRCS = $(sort $(wildcard extension/*.cpp extension/pg/*.cpp))
OBJS = $(EXT_SRCS:.cpp=.o) $(CORE_SRCS:.cpp=.o)

DATA_built = extension/pg_cutover--$(EXTVERSION).sql
DATA = extension/pg_cutover.control $(filter-out $(DATA_built),$(wildcard extension/pg_cutover--*--*.sql))

REGRESS = checksum types source verify errors idmap users state plan pull pull_edges archive diff remap_values
REGRESS_OPTS = --inputdir=. --temp-instance=./tmp_check --temp-config=test/regress.conf
EXTRA_CLEAN = test/unit/unittest tmp_check results regression.diffs regression.out

PG_CONFIG ?= pg_config
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wshadow -Wno-missing-field-initializers $(if $(filter true 1,$(CI)),-Werror)
PG_CPPFLAGS = -Iextension -isystem $(shell $(PG_CONFIG) --includedir-server) -I$(shell $(PG_CONFIG) --includedir)
SHLIB_LINK = -lpq -lcrypto -lstdc++

# PGXS would also compile every .cpp to LLVM bitcode with clang, without PG_CXXFLAGS (so not as C++17).
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Rebuild objects when a header changes.
override CPPFLAGS += -MMD -MP
-include $(OBJS:.o=.d)
EXTRA_CLEAN += $(OBJS:.o=.d)

# The install script, in four parts by family (pg_cutover.sql opens it with the table of every function).
EXT_SQL = extension/pg_cutover.sql extension/pg_cutover_users.sql extension/pg_cutover_plan.sql \
	extension/pg_cutover_load.sql
extension/pg_cutover--$(EXTVERSION).sql: $(EXT_SQL)
	cat $(EXT_SQL) >$@

# The client, the unit tests and the emulator are compiled file by file, so that `make -j` spreads them over
# the cores, and link the extension's own objects of extension/core/ (pure C++, position-independent):
# each source is compiled once.
TOOL_CXXFLAGS = -std=c++17 -O2 -g -Wall -Wextra -Wshadow $(if $(filter true 1,$(CI)),-Werror) -Iextension \
	-Iclient -I$(shell $(PG_CONFIG) --includedir) -DCUTOVER_VERSION='"$(EXTVERSION)"' -MMD -MP
client/%.o: client/%.cpp
	$(CXX) $(TOOL_CXXFLAGS) -c -o $@ $<
# The unit tests' own files without optimisation: what they test (extension/core/ and the client's pure parts) is
# compiled once, optimised, for the extension and the client; the tests' files build twice as fast.
UNIT_CXXFLAGS = $(filter-out -O2,$(TOOL_CXXFLAGS)) -O0
test/unit/%.o: test/unit/%.cpp
	$(CXX) $(UNIT_CXXFLAGS) -c -o $@ $<

# GoogleTest over the pure C++ core: no server needed.
# The client's pure parts (no network, no database) are tested with it.
UNIT_SRCS = $(sort $(wildcard test/unit/*_test.cpp))
CLIENT_PURE_SRCS = $(wildcard client/supabase_user.cpp client/stack_json.cpp client/archive_format.cpp \
	client/diff_report.cpp client/json_values.cpp client/plan_view.cpp client/output.cpp client/documents.cpp \
	client/retry.cpp client/email_collisions.cpp client/timestamptz.cpp client/user_sync.cpp)
UNIT_OBJS = $(UNIT_SRCS:.cpp=.o) $(CORE_SRCS:.cpp=.o) $(CLIENT_PURE_SRCS:.cpp=.o)
test/unit/unittest: $(UNIT_OBJS)
	$(CXX) -o $@ $(UNIT_OBJS) -lgtest -lgtest_main -pthread -lcrypto

# The cutover client (client/) and the loopback Stack Auth emulator of the tests, built with the extension.
CLIENT_SRCS = $(sort $(wildcard client/*.cpp))
CLIENT_CORE_OBJS = $(addprefix extension/core/,checksum.o md5_batch.o copy_text.o plan.o sql.o id_map.o \
	user_ids.o value_types.o spans.o json_text.o jsonb_key_order.o remap.o escapes.o copy_row.o)
CLIENT_OBJS = $(CLIENT_SRCS:.cpp=.o) $(CLIENT_CORE_OBJS)
CLIENT_BINDIR ?= /usr/local/bin
client/cutover: $(CLIENT_OBJS)
	$(CXX) -o $@ $(CLIENT_OBJS) -lpq -lcurl -lcrypto -pthread
-include $(CLIENT_SRCS:.cpp=.d) $(UNIT_SRCS:.cpp=.d)
EXTRA_CLEAN += $(CLIENT_SRCS:.cpp=.o) $(CLIENT_SRCS:.cpp=.d) $(UNIT_SRCS:.cpp=.o) $(UNIT_SRCS:.cpp=.d)
include test/stack_auth_emulator/emulator.mk
EXTRA_CLEAN += client/cutover
# EXTENSION_ONLY=1: `make` and `make install` of the extension alone (the version matrix's builds against
# PostgreSQL 17 and 18, whose client is the same as 15's).
ifndef EXTENSION_ONLY
all: client/cutover $(STACK_AUTH_EMULATOR)
install: install-client
endif

.PHONY: install-client
install-client: client/cutover
	$(INSTALL_PROGRAM) client/cutover '$(DESTDIR)$(CLIENT_BINDIR)/cutover'

.PHONY: unittest test test-full test-pg17 test-pg18 bench bench-pull bench-export bench-diff bench-remap bench-verify bench-users bench-split
unittest: test/unit/unittest
	test/unit/unittest

PROVE_TESTS = test/t/*.pl
PROVE_FLAGS = -v

# PGXS defines the prove_installcheck recipe (TESTDIR, PATH with bindir, PG_REGRESS, -I for the
# PostgreSQL::Test modules) but no target of that name: run it on its own, against the installed extension.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

# Every suite and one "N passed, N failed" line; $(MAKE) passes the jobserver on to the runner's makes.
# test-full: the same, with the long randomized part whole (20 SIGKILLs of `cutover run` instead of 5).
test:
	MAKE='$(MAKE)' bash test/run-all.sh

test-full:
	CUTOVER_KILLS=20 MAKE='$(MAKE)' bash test/run-all.sh

# The version matrix alone: the extension built against a throwaway PostgreSQL 17 or 18 (test/pgversions.sh,
# under build/), pg_regress on it and the TAP files of pull, verification, diff and cutover run with it as
# the target.
test-pg17 test-pg18:
	CUTOVER_ONLY_MATRIX=1 PG_MATRIX='$(@:test-pg%=%)' MAKE='$(MAKE)' bash test/run-all.sh

bench: all
	test/bench/checksum.sh

bench-pull: all
	test/bench/pull.sh

bench-export: all
	test/bench/export.sh

bench-diff: all
	test/bench/diff.sh

bench-remap: all
	test/bench/remap.sh

bench-verify: all
	test/bench/verify.sh

bench-users: all
	test/bench/users.sh

bench-split: all
	test/bench/split.sh

.PHONY: demo demo-stop
demo:
	MAKE='$(MAKE)' bash test/demo.sh
demo-stop:
	bash test/demo.sh stop

# clang-format over the C++ sources (.clang-format); format-check fails on any difference.
FORMAT_SRCS = $(wildcard extension/*.cpp extension/*.hpp extension/*/*.cpp extension/*/*.hpp test/unit/*.cpp \
	client/*.cpp client/*.hpp test/stack_auth_emulator/*.cpp test/stack_auth_emulator/*.hpp)
.PHONY: format format-check
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "$(words $(FORMAT_SRCS)) files formatted as .clang-format says"
