#!/usr/bin/env bash
# test/run-all.sh: every test suite of pg_cutover, then one line "N passed, N failed". Run by `make test`.
#
#   1. test/deps.sh (installs missing Debian packages as root; as a user it only checks)
#   2. make, the GoogleTest binary, and `make install` when root
#   3. GoogleTest (test/unit), as the current user
#   4. pg_regress (`make installcheck`, throwaway instance) and TAP (`make prove_installcheck`) as a non-root
#      user: as root, in a copy of the tree owned by postgres, run through runuser; otherwise in place
#   5. the version matrix: for PostgreSQL 17 and 18 (PG_MATRIX), a throwaway toolchain (test/pgversions.sh),
#      the extension built and installed into it, pg_regress on it, and the TAP files of MATRIX_TAP with a
#      target of that version; a version that cannot be fetched is reported as SKIPPED, never passed
#   6. the demo, at a smaller volume
#
# Counting: GoogleTest from its "[  PASSED  ] N tests" / "[  FAILED  ] N tests, listed below" summary;
# pg_regress one per "... ok" / "... FAILED" line; TAP one per top-level "ok N" / "not ok N" line, plus one
# failure per test file that prove reports failed without a failed assertion (died, bad plan, exit status).
# A suite that cannot run, or runs zero tests while its directory has test files, counts as one failure.
# Exits non-zero if anything failed. Environment: PG_CONFIG (default: PostgreSQL 15's), KEEP_TMP=1 keeps
# the root-mode copy of the tree, PG_MATRIX (default "17 18"; empty: no matrix), CUTOVER_ONLY_MATRIX=1 (the
# build, unit tests and the matrix alone: make test-pg17 / test-pg18), TAP_JOBS (TAP files run at once; default
# the number of CPUs, at most 4).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

MAKE=${MAKE:-make}
# Fixed locale: the same collation, encoding (UTF8) and messages for every run, whatever the caller's.
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

total_passed=0
total_failed=0
problems=()                        # one line per failure that has no test name of its own
skipped=()                         # one line per version of the matrix that could not be tested
# CUTOVER_ONLY_MATRIX=1 (make test-pg17, make test-pg18): the build, then the version matrix alone
only_matrix=${CUTOVER_ONLY_MATRIX:-0}
logs=$(mktemp -d "${TMPDIR:-/tmp}/pg_cutover-logs.XXXXXX")
diag="$logs/diagnostics"           # printed at the end when something failed
: >"$diag"
work=""                            # root mode: the copy of the tree the postgres user runs the suites in

is_root() { ((EUID == 0)); }
# Time by section, printed at the end (wall seconds, and how busy the machine's CPUs were meanwhile).
timings=()
phase_name="" phase_start=0 phase_busy=0 phase_ticks=0
cpu_ticks() { # sets busy and ticks from /proc/stat's first line (all CPUs)
	local _cpu user nice system idle iowait irq softirq steal
	read -r _cpu user nice system idle iowait irq softirq steal _ </proc/stat
	busy=$((user + nice + system + irq + softirq + steal))
	ticks=$((busy + idle + iowait))
}
end_phase() {
	local busy ticks pct=0
	[[ -n $phase_name ]] || return 0
	cpu_ticks
	((ticks > phase_ticks)) && pct=$((100 * (busy - phase_busy) / (ticks - phase_ticks)))
	timings+=("$(printf '%5d s  %3d%% CPU  %s' "$((SECONDS - phase_start))" "$pct" "$phase_name")")
	phase_name=""
}
heading() { printf '\n===== %s =====\n' "$*"; }
section() { # section TITLE: a heading, and the start of a timed section
	local busy ticks
	heading "$*"
	end_phase
	phase_name=$1 phase_start=$SECONDS
	cpu_ticks
	phase_busy=$busy phase_ticks=$ticks
}
problem() { # problem MESSAGE: one failure with a reason
	problems+=("$*")
	total_failed=$((total_failed + 1))
	printf 'FAILED: %s\n' "$*"
}
count() { # count SUITE PASSED FAILED
	total_passed=$((total_passed + $2))
	total_failed=$((total_failed + $3))
	printf '== %s: %d passed, %d failed\n' "$1" "$2" "$3"
}
add_diag() { # add_diag TITLE FILE [LINES]: append (the tail of) FILE to the diagnostics
	local title=$1 file=$2 lines=${3:-0} n
	[[ -f $file ]] || return 0
	n=$(wc -l <"$file")
	{
		if ((lines > 0 && n > lines)); then
			printf '\n----- %s (last %d of %d lines) -----\n' "$title" "$lines" "$n"
			tail -n "$lines" "$file"
		else
			printf '\n----- %s -----\n' "$title"
			cat "$file"
		fi
	} >>"$diag"
}
finish() {
	end_phase
	if ((total_failed > 0)) && [[ -s $diag ]]; then
		heading "diagnostics"
		cat "$diag"
	fi
	if ((${#problems[@]} > 0)); then
		heading "problems"
		printf '  %s\n' "${problems[@]}"
	fi
	if ((${#skipped[@]} > 0)); then
		heading "not tested"
		printf '  SKIPPED %s\n' "${skipped[@]}"
	fi
	if [[ -n $work ]]; then
		if ((total_failed > 0)) || [[ ${KEEP_TMP:-} == 1 ]]; then
			printf '\n(test copy kept in %s)\n' "$work"
		else
			rm -rf "$work"
		fi
	fi
	rm -rf "$logs"
	heading "time by section ($SECONDS s in all)"
	printf '%s\n' "${timings[@]}"
	echo
	printf '%d passed, %d failed\n' "$total_passed" "$total_failed"
	((total_failed == 0))
	exit
}
# run LOG CMD...: run CMD with stdout+stderr shown and saved in LOG; returns CMD's status
run() {
	local log=$1
	shift
	"$@" </dev/null 2>&1 | tee "$log"
	return "${PIPESTATUS[0]}"
}
has_files() { compgen -G "$1" >/dev/null; }
make_var() { # make_var NAME: the value of a Makefile variable
	# shellcheck disable=SC2016 # $($*) is for make, not the shell
	"$MAKE" -s --no-print-directory PG_CONFIG="$PG_CONFIG" --eval 'pgc-print-%: ; @echo $($*)' "pgc-print-$1" 2>/dev/null
}

# ---------------------------------------------------------------------------------------------- deps, build
section "dependencies (test/deps.sh)"
if ! bash test/deps.sh </dev/null; then
	problem "test/deps.sh: packages missing (see above)"
	finish
fi

# PostgreSQL 15's pg_config (after deps.sh: on a fresh machine it has just been installed), not whichever
# server-dev version /usr/bin/pg_config would pick.
source "$(dirname "${BASH_SOURCE[0]}")/pg_config.sh"

jobs=()
# Parallel build, unless `make -jN test` already handed us its jobserver.
[[ " ${MAKEFLAGS:-} " == *" -j"* || ${MAKEFLAGS:-} == *jobserver* ]] || jobs=(-j"$(nproc 2>/dev/null || echo 2)")

section "build"
if ! run "$logs/build.log" "$MAKE" --no-print-directory "${jobs[@]}" PG_CONFIG="$PG_CONFIG" all; then
	problem "make: the extension does not build"
	finish
fi
unit_sources=(test/unit/*_test.cpp)
have_unit=0
if has_files 'test/unit/*_test.cpp'; then
	have_unit=1
	if ! run "$logs/unit-build.log" "$MAKE" --no-print-directory "${jobs[@]}" PG_CONFIG="$PG_CONFIG" test/unit/unittest; then
		problem "make test/unit/unittest: the unit tests do not build"
		have_unit=2
	fi
fi

pkglibdir=$("$PG_CONFIG" --pkglibdir)
sharedir=$("$PG_CONFIG" --sharedir)
installed_ok() { # the built module, control file and install/upgrade scripts are the installed ones
	local f
	cmp -s pg_cutover.so "$pkglibdir/pg_cutover.so" || return 1
	for f in extension/pg_cutover.control extension/pg_cutover--*.sql; do
		[[ -f $f ]] || continue
		cmp -s "$f" "$sharedir/extension/$(basename "$f")" || return 1
	done
}
if is_root; then
	section "install"
	if ! run "$logs/install.log" "$MAKE" --no-print-directory PG_CONFIG="$PG_CONFIG" install; then
		problem "make install failed"
		finish
	fi
elif ! installed_ok; then
	if [[ -w $pkglibdir && -w $sharedir/extension ]]; then
		section "install"
		run "$logs/install.log" "$MAKE" --no-print-directory PG_CONFIG="$PG_CONFIG" install ||
			problem "make install failed"
	else
		problem "the installed extension ($pkglibdir/pg_cutover.so) is missing or not this build: run 'sudo make install' first"
	fi
fi

# ----------------------------------------------------------------------------------------------- format
section "format (clang-format, .clang-format)"
if run "$logs/format.log" "$MAKE" -s --no-print-directory format-check; then
	count "format" 1 0
else
	count "format" 0 1
	add_diag "clang-format: run make format" "$logs/format.log" 80
fi

# ----------------------------------------------------------------------------------------------- house rules
# docs/HACKING.md: no file of extension/ or client/ over 500 lines, no function over 80; the table of where
# each SQL function is written (pg_cutover.sql, README) true to the code.
section "house rules (test/lint)"
for lint in sizes functions; do
	if run "$logs/lint-$lint.log" perl "test/lint/$lint.pl"; then
		count "lint $lint" 1 0
	else
		count "lint $lint" 0 1
		add_diag "test/lint/$lint.pl" "$logs/lint-$lint.log" 40
	fi
done

# ----------------------------------------------------------------------------------------------- GoogleTest
section "unit tests (GoogleTest)"
if ((have_unit == 0)); then
	echo "no test/unit/*_test.cpp yet: skipped"
elif ((have_unit == 2)); then
	echo "not built: not run (counted as one failure above)"
elif ((have_unit == 1)); then
	run "$logs/unit.log" test/unit/unittest --gtest_color=no
	rc=$?
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) tests\{0,1\}\..*/\1/p' "$logs/unit.log" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) tests\{0,1\}, listed below.*/\1/p' "$logs/unit.log" | tail -n 1)
	# No summary (the binary crashed): count the tests that finished before the crash.
	[[ -n $p ]] || p=$(grep -c '^\[       OK \] ' "$logs/unit.log")
	f=${f:-0}
	count "unit (GoogleTest)" "$p" "$f"
	if ((rc != 0 && f == 0)); then
		problem "test/unit/unittest exited with status $rc without a GoogleTest summary (crash?)"
	elif ((p + f == 0)); then
		problem "test/unit/unittest ran no tests although ${#unit_sources[@]} test/unit/*_test.cpp exist"
	fi
fi

# ------------------------------------------------------------------- where the server suites run, and as whom
have_regress_files=0 have_tap_files=0
has_files 'sql/*.sql' && have_regress_files=1
has_files 'test/t/*.pl' && have_tap_files=1

suite_dir=$root
# shellcheck disable=SC2317 # as_tester is called through run "$@"
as_tester() { "$@"; }
prepare_suite_dir() { # as root, once, before the first server suite: set suite_dir and as_tester
	is_root || return 0
	[[ -z $work ]] || return 0
	# initdb and pg_regress refuse root, and postgres may not be able to read this checkout: copy the
	# tree (sources without build products, so make sees nothing to rebuild) to a directory postgres owns.
	if ! id postgres >/dev/null 2>&1; then
		problem "no postgres user to run the server suites as (is postgresql-15 installed?)"
		finish
	fi
	work=$(mktemp -d /tmp/pg_cutover-test.XXXXXX)
	tar -C "$root" -cf - \
		--exclude=./.git --exclude=./build --exclude=./tmp_check --exclude=./results --exclude=./log \
		--exclude=./regression.diffs --exclude=./regression.out \
		--exclude='*.o' --exclude='*.bc' --exclude='./*.so' --exclude=./test/unit/unittest \
		--exclude='./extension/*.d' --exclude='./client/*.d' --exclude='./test/unit/*.d' . |
		tar -C "$work" -xf - || {
		problem "could not copy the tree to $work"
		finish
	}
	chown -R postgres: "$work"
	chmod 755 "$work"
	suite_dir=$work
	# shellcheck disable=SC2317
	as_tester() {
		runuser -u postgres -- env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
			HOME="$work" USER=postgres LOGNAME=postgres TMPDIR=/tmp PATH="$PATH" "$@"
	}
	echo "(running as postgres in $work)"
}

# ------------------------------------------------------------------------------- the server suites, as functions
# regress_suite LABEL DIR PG_CONFIG TESTS...: `make installcheck` of TESTS in DIR against PG_CONFIG's server
# (a throwaway instance), counted and with its diffs and server log on failure.
regress_suite() {
	local label=$1 dir=$2 pg_config=$3 rc p f server_log log
	shift 3
	log="$logs/regress-${label//[^A-Za-z0-9]/_}.log"
	(cd "$dir" && run "$log" as_tester "$MAKE" --no-print-directory EXTENSION_ONLY=1 \
		PG_CONFIG="$pg_config" REGRESS="$*" installcheck)
	rc=$?
	# 15: "test name   ... ok   12 ms", "     name   ... FAILED   30 ms"; 16 and later: "ok 1   - name   12 ms",
	# "not ok 2   - name   30 ms"
	p=$(grep -cE '^((test | +)[^ ]+ +\.\.\. ok( |$)|ok [0-9]+ +[-+] )' "$log")
	f=$(grep -cE '^((test | +)[^ ]+ +\.\.\. FAILED|not ok [0-9]+ +[-+] )' "$log")
	count "$label" "$p" "$f"
	if ((rc != 0 && f == 0)); then
		problem "$label (make installcheck) exited with status $rc without a failed test (could not run?)"
	elif ((p + f == 0)); then
		problem "$label ran no tests"
	fi
	if ((rc != 0 || f > 0)); then
		add_diag "$label: regression.diffs" "$dir/regression.diffs"
		# pg_regress writes the temp instance's logs to <outputdir>/log (15) or tmp_check/log (16 and later)
		for server_log in "$dir/log/postmaster.log" "$dir"/tmp_check/log/postmaster.log; do
			[[ -f $server_log ]] || continue
			if grep -qE 'PANIC|TRAP|terminated by signal|was terminated' "$server_log"; then
				grep -E 'PANIC|TRAP|terminated by signal|was terminated' "$server_log" | head -n 20 >"$logs/crashes"
				add_diag "$label: backend crashes in ${server_log#"$dir"/}" "$logs/crashes"
			fi
			add_diag "$label: server log (${server_log#"$dir"/})" "$server_log" 80
		done
		((p + f > 0)) || add_diag "$label: initdb log" "$dir/log/initdb.log" 40
	fi
}

tap_jobs=${TAP_JOBS:-$(nproc 2>/dev/null || echo 2)}
((tap_jobs <= 4)) || tap_jobs=4
# tap_suite LABEL FILES [NAME=VALUE...]: `make prove_installcheck` of FILES (a glob or a list) in the suite
# directory, PostgreSQL 15's PostgreSQL::Test modules, with the environment NAME=VALUE (CUTOVER_TARGET_PG, ...).
tap_suite() {
	local label=$1 files=$2 prove_flags rc p f failed_files dead ndead skipped_all file name log tap_logs log_dir
	shift 2
	log="$logs/tap-${label//[^A-Za-z0-9]/_}.log"
	prove_flags=$(make_var PROVE_FLAGS)
	[[ " $prove_flags " == *" -v "* || " $prove_flags " == *" --verbose "* ]] || prove_flags="$prove_flags -v"
	prove_flags="$prove_flags --timer" # each file's time, to see where the suite's time goes
	# Test files side by side: each waits on servers, the emulator and timeouts about half of its time (TAP_JOBS=1:
	# one at a time). prove keeps each file's output in one piece.
	prove_flags="$prove_flags -j$tap_jobs"
	log_dir=$suite_dir/tmp_check/log # emptied by each run of prove_installcheck
	(cd "$suite_dir" && run "$log" as_tester env "$@" "$MAKE" --no-print-directory \
		PG_CONFIG="$PG_CONFIG" PROVE_FLAGS="$prove_flags" PROVE_TESTS="$files" prove_installcheck)
	rc=$?
	# Top-level assertions only (subtests are indented). "not ok N ... # TODO" is an expected failure;
	# "\# TODO" (escaped) is part of the description, not a directive.
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -E '^not ok [0-9]+' "$log" | grep -cviE '[^\\]#[[:space:]]*todo')
	# prove's "Test Summary Report" has a line per failed file; one with "Failed: 0" died or broke its plan:
	#   test/t/004_dies.pl   (Wstat: 65280 (exited 255) Tests: 1 Failed: 0)
	failed_files=$(sed -n 's/^\([^ #][^ ]*\) *(Wstat: .* Tests: [0-9]* Failed: [0-9]*)$/\1/p' "$log")
	dead=$(sed -n 's/^\([^ #][^ ]*\) *(Wstat: .* Tests: [0-9]* Failed: 0)$/\1/p' "$log")
	ndead=0
	for file in $dead; do
		problems+=("$label: $file died or broke its plan (see prove's Test Summary Report)")
		ndead=$((ndead + 1))
	done
	skipped_all=$(grep -ciE '^1\.\.0 *# *skip' "$log")
	count "$label" "$p" "$((f + ndead))"
	if ((rc != 0 && f + ndead == 0)); then
		problem "$label (make prove_installcheck) exited with status $rc without a failed assertion (could not run?)"
	elif ((p + f + ndead == 0 && skipped_all == 0)); then
		problem "$label ran no assertions"
	fi
	if ((rc != 0 || f + ndead > 0)); then
		# PostgreSQL::Test writes tmp_check/log/regress_log_<test> and one <test>_<node>.log per node.
		tap_logs=()
		if [[ -n $failed_files ]]; then
			for file in $failed_files; do
				name=$(basename "$file" .pl)
				for log in "$log_dir/regress_log_$name" "$log_dir/${name}"_*.log; do
					[[ -f $log ]] && tap_logs+=("$log")
				done
			done
		else
			for log in "$log_dir"/*; do
				[[ -f $log ]] && tap_logs+=("$log")
			done
		fi
		for log in "${tap_logs[@]}"; do
			add_diag "$label: log ${log#"$suite_dir"/}" "$log" 400
		done
	fi
}

# ------------------------------------------------------------------------------------------------ pg_regress
section "regression tests (pg_regress)"
regress_tests=()
if ((have_regress_files == 0)); then
	echo "no sql/*.sql yet: skipped"
else
	read -r -a listed <<<"$(make_var REGRESS)"
	for t in "${listed[@]}"; do
		if [[ ! -f sql/$t.sql ]]; then
			problem "pg_regress: $t is in REGRESS but sql/$t.sql does not exist"
		elif ! has_files "expected/$t.out" && ! has_files "expected/${t}_[0-9].out"; then
			problem "pg_regress: $t has sql/$t.sql but no expected/$t.out"
		else
			regress_tests+=("$t")
		fi
	done
	for f in sql/*.sql; do
		t=$(basename "$f" .sql)
		[[ " ${listed[*]} " == *" $t "* ]] || echo "warning: $f is not in the Makefile's REGRESS list, so it does not run"
	done
	((${#listed[@]} > 0)) || problem "pg_regress: sql/*.sql exist but the Makefile's REGRESS list is empty"
	if [[ $only_matrix == 1 ]]; then
		echo "PostgreSQL 15: not run (CUTOVER_ONLY_MATRIX=1)"
	elif ((${#regress_tests[@]} > 0)); then
		prepare_suite_dir
		regress_suite "pg_regress" "$suite_dir" "$PG_CONFIG" "${regress_tests[@]}"
	fi
fi

# ------------------------------------------------------------------------------------------------------- TAP
section "TAP tests (prove)"
if ((have_tap_files == 0)); then
	echo "no test/t/*.pl yet: skipped"
elif [[ $only_matrix == 1 ]]; then
	echo "PostgreSQL 15: not run (CUTOVER_ONLY_MATRIX=1)"
else
	prepare_suite_dir
	tap_suite "TAP" "$(make_var PROVE_TESTS)"
fi

# ----------------------------------------------------------------------------------- the version matrix
# For each version of PG_MATRIX (default "17 18"): test/pgversions.sh fetches a throwaway PostgreSQL of that
# version into build/pgN of the suite directory (as the tester: nothing is installed on the machine), the
# extension is built against it in a copy of the sources there and installed into it, then pg_regress runs on
# it and the TAP files of MATRIX_TAP (pull, verification, diff, cutover run) run with a target of that version
# and a PostgreSQL 15 source; for 18, `cutover run` also from a 17 source to the 18 target and from an 18
# source to the 15 target. A version whose
# toolchain cannot be fetched (registry unreachable) is skipped with a line saying so, in the summary too.
# fetch_toolchain N: test/pgversions.sh N in the suite directory; false (and N skipped or failed) if it fails.
fetch_toolchain() {
	local v=$1 rc reason
	(cd "$suite_dir" && run "$logs/pgversions-$v.log" as_tester bash test/pgversions.sh "$v")
	rc=$?
	((rc == 0)) && return 0
	reason=$(grep "^pgversions $v: " "$logs/pgversions-$v.log" | tail -n 1)
	reason=${reason#"pgversions $v: "}
	if ((rc == 2)); then
		skipped+=("PostgreSQL $v: $reason")
		printf 'SKIPPED: PostgreSQL %s (%s)\n' "$v" "$reason"
	else
		problem "test/pgversions.sh $v failed (exit $rc): $reason"
		add_diag "test/pgversions.sh $v" "$logs/pgversions-$v.log" 60
	fi
	return 1
}
MATRIX_TAP="test/t/001_verify_two_clusters.pl test/t/006_pull.pl test/t/008_diff.pl test/t/012_cutover_run.pl test/t/021_split_tables.pl"
for v in ${PG_MATRIX-17 18}; do
	section "PostgreSQL $v target (test/pgversions.sh $v)"
	prepare_suite_dir
	fetch_toolchain "$v" || continue
	# 18 is also tested with a 17 source: its toolchain too
	if [[ $v == 18 ]] && ((have_tap_files == 1)); then
		fetch_toolchain 17 || continue
	fi
	tree=$suite_dir/build/pg$v
	matrix_config=$tree/pg/bin/pg_config
	# the sources, without build products or other versions' trees, in build/pgN/src
	as_tester mkdir -p "$tree/src"
	if ! (cd "$suite_dir" && tar -cf - --exclude=./build --exclude=./.git --exclude=./tmp_check --exclude=./results \
		--exclude=./log --exclude='*.o' --exclude='*.d' --exclude='./*.so' --exclude=./client/cutover \
		--exclude=./test/unit/unittest --exclude=./test/stack_auth_emulator/stack_auth_emulator . |
		as_tester tar -C "$tree/src" -xf -); then
		problem "PostgreSQL $v: could not copy the sources to $tree/src"
		continue
	fi
	if ! (cd "$tree/src" && run "$logs/build-$v.log" as_tester "$MAKE" --no-print-directory "${jobs[@]}" \
		EXTENSION_ONLY=1 PG_CONFIG="$matrix_config" all install); then
		problem "PostgreSQL $v: the extension does not build or install against it"
		continue
	fi
	section "PostgreSQL $v target: pg_regress and TAP"
	((${#regress_tests[@]} > 0)) && regress_suite "pg_regress (PostgreSQL $v)" "$tree/src" "$matrix_config" "${regress_tests[@]}"
	((have_tap_files == 0)) || tap_suite "TAP (PostgreSQL $v target, 15 source)" "$MATRIX_TAP" CUTOVER_TARGET_PG="$tree/pg"
	# cutover run between versions: from a 17 source to an 18 target, and from an 18 source to the 15 target
	if [[ $v == 18 ]] && ((have_tap_files == 1)); then
		tap_suite "TAP (PostgreSQL 18 target, 17 source)" test/t/012_cutover_run.pl \
			CUTOVER_TARGET_PG="$tree/pg" CUTOVER_SOURCE_PG="$suite_dir/build/pg17/pg"
		tap_suite "TAP (PostgreSQL 15 target, 18 source)" test/t/012_cutover_run.pl CUTOVER_SOURCE_PG="$tree/pg"
	fi
done

# ----------------------------------------------------------------------------------------------- the demo
# `make demo`'s own script at a smaller volume, on what this run built and installed: init, users, plan, pull
# and verify through the client and the emulator; it fails unless every table is verified and every user mapped.
if [[ $only_matrix == 0 ]]; then
	section "demo (test/demo.sh, 200 users, 50,000 sensor readings)"
	if run "$logs/demo.log" env DEMO_INSTALL=0 DEMO_USERS=200 DEMO_READINGS=50000 bash test/demo.sh; then
		count "demo" 1 0
	else
		count "demo" 0 1
		add_diag "the demo (test/demo.sh)" "$logs/demo.log" 120
		for log in /tmp/pg_cutover_demo/*.log; do
			[[ -f $log ]] && add_diag "demo log $log" "$log" 60
		done
	fi
	bash test/demo.sh stop >/dev/null 2>&1 || true
fi

finish
