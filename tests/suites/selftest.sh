#!/usr/bin/env bash
# The test of the test command's counting (scripts/lib/count.sh, the code scripts/test uses):
# throwaway test binaries and fuzz stand-ins (tests/selftest/) that pass, fail, abort mid-run,
# crash or exit non-zero after printing "ok", and steps that fail without running any test, are
# fed through the same functions; each must be counted as it ended, and any failure must make
# the closing status non-zero. Ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
export PATH="$HOME/.cargo/bin:$PATH"
# shellcheck source=scripts/lib/count.sh
. scripts/lib/count.sh

CRATE="$ROOT/tests/selftest/crate"
MANIFEST="$CRATE/Cargo.toml"
WORK="$(mktemp -d /tmp/imapmail-selftest.XXXXXX)" || exit 1
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"' EXIT
# Tests run one at a time, in name order: aborts.rs then aborts after exactly one test.
export RUST_TEST_THREADS=1

checks_passed=0
checks_failed=0
expect() { # expect WHAT CONDITION...: one check of this script
    local what=$1
    shift
    if "$@"; then
        checks_passed=$((checks_passed + 1))
        echo "ok   $what"
    else
        checks_failed=$((checks_failed + 1))
        echo "FAIL $what"
    fi
}

# case_run NAME COMMAND...: runs a counting COMMAND (cargo_tests, unit, fuzz_targets ...) from
# fresh counters in a subshell; sets P, F (the counts), RC (its status), WHY (its failures) and
# OUT (what it printed).
case_run() {
    local name=$1 dir="$WORK/$1"
    shift
    mkdir -p "$dir"
    (
        count_reset
        COUNT_LOG_DIR="$dir"
        rc=0
        "$@" >"$dir/out" 2>&1 || rc=$?
        printf '%s\n' "$passed" "$failed" "$rc" >"$dir/counts"
        printf '%s\n' "${failures[@]}" >"$dir/why"
    )
    { read -r P && read -r F && read -r RC; } <"$dir/counts" || { P=x F=x RC=x; }
    WHY="$(cat "$dir/why" 2>/dev/null)"
    OUT="$(cat "$dir/out" 2>/dev/null)"
    echo "--- $name: passed=$P failed=$F status=$RC"
    # shellcheck disable=SC2001
    [ -z "$WHY" ] || sed 's/^/    why: /' <<<"$WHY"
}

eq() { [ "$1" = "$2" ]; }
ge() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }
has() { grep -qF -- "$2" <<<"$1"; }
line() { grep -qxF -- "$2" <<<"$1"; } # a whole line of $1 is $2

# The binaries are built once up front (the cases below then only run them).
if ! cargo test --no-run --manifest-path "$MANIFEST" >"$WORK/build.log" 2>&1; then
    tail -n 30 "$WORK/build.log"
    echo "0 passed, 1 failed"
    exit 1
fi

case_run passes cargo_tests passes --manifest-path "$MANIFEST" --test passes
expect "passing binary: 2 passed" eq "$P" 2
expect "passing binary: 0 failed" eq "$F" 0
expect "passing binary: status 0" eq "$RC" 0

case_run fails cargo_tests fails --manifest-path "$MANIFEST" --test fails
expect "a failing test: 1 passed" eq "$P" 1
expect "a failing test: 1 failed" eq "$F" 1
expect "a failing test: status non-zero" ge "$RC" 1

case_run aborts cargo_tests aborts --manifest-path "$MANIFEST" --test aborts
expect "abort mid-run: the test before it counted passed" eq "$P" 1
expect "abort mid-run: counted failed" ge "$F" 1
expect "abort mid-run: status non-zero" ge "$RC" 1
expect "abort mid-run: reported as a crash after 1 test" has "$WHY" "crashed (signal 6, SIGABRT) after 1 tests"

case_run crash-at-exit cargo_tests crash-at-exit --manifest-path "$MANIFEST" --test crash_at_exit
expect "crash at exit after 'ok': 1 passed" eq "$P" 1
expect "crash at exit after 'ok': counted failed" eq "$F" 1
expect "crash at exit after 'ok': status non-zero" ge "$RC" 1
expect "crash at exit after 'ok': reported as a crash" has "$WHY" "crashed (signal 11, SIGSEGV) after printing its test result"

case_run exit-nonzero cargo_tests exit-nonzero --manifest-path "$MANIFEST" --test exit_nonzero
expect "non-zero exit after 'ok': 1 passed" eq "$P" 1
expect "non-zero exit after 'ok': counted failed" eq "$F" 1
expect "non-zero exit after 'ok': status non-zero" ge "$RC" 1
expect "non-zero exit after 'ok': reported" has "$WHY" "exited with status 3 after printing that all its tests passed"

# All binaries in one step: every one runs whatever the others did (no fail-fast), and the
# counts add up: passes 2+0, fails 1+1, aborts 1+1, crash_at_exit 1+1, exit_nonzero 1+1, and
# the unit-test binaries of the library and of the two fuzz stand-ins 0+0.
case_run all cargo_tests all --manifest-path "$MANIFEST"
expect "all binaries: 6 passed" eq "$P" 6
expect "all binaries: 4 failed" eq "$F" 4
expect "all binaries: status non-zero" ge "$RC" 1
for t in passes fails aborts crash_at_exit exit_nonzero; do
    expect "all binaries: tests/$t.rs ran" grep -q "^--- tests/$t.rs " "$WORK/all/all.log"
done

case_run broken-build cargo_tests broken-build --manifest-path "$MANIFEST" --features broken
expect "a build that fails: 0 passed" eq "$P" 0
expect "a build that fails: 1 failed" eq "$F" 1
expect "a build that fails: status non-zero" ge "$RC" 1

case_run failing-unit unit failing-unit bash -c 'echo "a check that fails"; exit 1'
expect "a failing step without tests: 0 passed, 1 failed" eq "$P/$F" 0/1
expect "a failing step without tests: named" has "$WHY" "failing-unit"

case_run doc-tests-broken cargo_doc_tests doc-tests-broken --manifest-path "$MANIFEST" --features broken
expect "doc tests that do not build: counted failed" eq "$P/$F" 0/1

# Fuzz replays: good-accepted.bin passes, crashy-crashes.bin crashes its target,
# nosuch-unknown-prefix.bin names no target; plus one for the build.
case_run fuzz fuzz_targets fuzz "$MANIFEST" "$ROOT/tests/selftest/fuzz-regressions"
expect "fuzz: the build and one replay passed" eq "$P" 2
expect "fuzz: a crashing replay and an unknown prefix failed" eq "$F" 2
expect "fuzz: unknown prefix reported" has "$WHY" "nosuch-unknown-prefix.bin names no fuzz target"
expect "fuzz: crashing replay reported" has "$WHY" "crashy-crashes.bin through crashy"

case_run fuzz-no-build fuzz_targets fuzz-no-build "$WORK/no-such-crate/Cargo.toml" "$ROOT/tests/selftest/fuzz-regressions"
expect "fuzz targets that do not build: the build and each of 3 files failed" eq "$P/$F" 0/4

# Suites: one that ends with "N passed, M failed" counts those; one that does not is one test;
# either way a non-zero exit is at least one failure.
case_run suite-counted suite suite-counted bash -c 'echo "3 passed, 0 failed"'
expect "suite with a summary: its counts" eq "$P/$F" 3/0
case_run suite-failing suite suite-failing bash -c 'echo "3 passed, 2 failed"; exit 1'
expect "suite with failures: its counts" eq "$P/$F" 3/2
case_run suite-lying suite suite-lying bash -c 'echo "3 passed, 0 failed"; exit 1'
expect "suite exiting 1 after '0 failed': counted failed" eq "$P/$F" 3/1
case_run suite-plain suite suite-plain bash -c 'echo "no summary"; exit 2'
expect "suite without summary that fails: one failure" eq "$P/$F" 0/1
case_run suite-plain-ok suite suite-plain-ok bash -c 'echo "no summary"'
expect "suite without summary that passes: one test" eq "$P/$F" 1/0

# The closing line and status of a run made of a passing step, a passing binary and an
# aborting one: the whole run fails.
run_mixed() {
    unit passing-unit true
    cargo_tests passes --manifest-path "$MANIFEST" --test passes
    cargo_tests aborts --manifest-path "$MANIFEST" --test aborts
    count_finish imapmail
}
case_run mixed run_mixed
expect "mixed run: status non-zero" ge "$RC" 1
expect "mixed run: closing line" line "$OUT" "imapmail: 4 passed, 1 failed"
# And a run where everything passes ends with status 0 (the checks above can tell the two apart).
run_clean() {
    unit passing-unit true
    cargo_tests passes --manifest-path "$MANIFEST" --test passes
    count_finish imapmail
}
case_run clean run_clean
expect "clean run: status 0" eq "$RC" 0
expect "clean run: closing line" line "$OUT" "imapmail: 3 passed, 0 failed"

echo
echo "$checks_passed passed, $checks_failed failed"
[ "$checks_failed" -eq 0 ]
