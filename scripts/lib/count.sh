# shellcheck shell=bash
# The counting of scripts/test, sourced by it and by its own test (tests/suites/selftest.sh).
#
# State, in the caller's shell: `passed` and `failed` (test counts), `failures` (one line per
# failed step or binary, with the reason). COUNT_LOG_DIR: where the logs go (must exist).
#
# The rules:
# - A step that runs one check (`unit`) is one test: passed when its command exits 0.
# - A cargo test step (`cargo_tests`) builds with `cargo test --no-run` and runs each test
#   binary itself. A binary counts the tests of its "test result:" line; when it printed none
#   (killed by a signal, aborted), the tests it reported as "ok" / "FAILED" before that.
#   A binary that exits non-zero counts at least one failure, whatever it printed: a crash at
#   exit after "test result: ok" is a failure. A build that fails is one failure.
# - Every failed step or binary lands in `failures`; the run fails when `failed` is not 0.
# Needs python3 (to read cargo's JSON messages).

count_reset() {
    passed=0
    failed=0
    failures=()
}

# count_fail REASON: one more failure.
count_fail() {
    failed=$((failed + 1))
    failures+=("$1")
}

# show_tail LOG: the last lines of a log, indented.
show_tail() {
    tail -n "${2:-40}" "$1" | sed 's/^/    | /'
    # A log cut mid-line (a crash) has no final newline.
    if [ -s "$1" ] && [ -n "$(tail -c 1 "$1")" ]; then echo; fi
}

# step NAME COMMAND...: runs COMMAND with its output in COUNT_LOG_DIR/NAME.log; exit status
# of COMMAND. Prints "ok" or "FAILED" and the end of the log.
step() {
    local name=$1 start=$SECONDS
    shift
    echo "=== $name"
    if "$@" >"$COUNT_LOG_DIR/$name.log" 2>&1; then
        echo "    ok ($((SECONDS - start)) s)"
        return 0
    fi
    echo "    FAILED ($((SECONDS - start)) s); last lines:"
    show_tail "$COUNT_LOG_DIR/$name.log"
    return 1
}

# unit NAME COMMAND...: a check that counts as one test.
unit() {
    if step "$@"; then passed=$((passed + 1)); else count_fail "$1"; fi
}

# signal_text RC: "signal N, SIGNAME" for an exit status above 128 (a shell's way of saying
# the process was killed by signal RC-128).
signal_text() {
    local n=$(($1 - 128)) name
    name=$(kill -l "$n" 2>/dev/null) || name="?"
    echo "signal $n, SIG${name#SIG}"
}

# judge_binary LABEL LOG RC: counts the output LOG of a libtest binary that exited with RC.
# Returns 0 when the binary passed (all its tests passed and it exited 0).
judge_binary() {
    local label=$1 log=$2 rc=$3 p f results reason=""
    results=$(grep -E '^test result: ' "$log" || true)
    if [ -n "$results" ]; then
        p=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i } END { print s + 0 }' <<<"$results")
        f=$(awk '{ for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i } END { print s + 0 }' <<<"$results")
    else
        # No summary: count the tests it reported before it died.
        p=$(grep -cE '^test .* \.\.\. ok$' "$log" || true)
        f=$(grep -cE '^test .* \.\.\. FAILED$' "$log" || true)
    fi
    if [ "$rc" -gt 128 ]; then
        if [ -n "$results" ]; then
            reason="binary $label crashed ($(signal_text "$rc")) after printing its test result"
        else
            reason="binary $label crashed ($(signal_text "$rc")) after $((p + f)) tests; the rest never ran"
        fi
    elif [ "$rc" -ne 0 ] && [ -z "$results" ]; then
        reason="binary $label exited with status $rc after $((p + f)) tests, without a test result"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        reason="binary $label exited with status $rc after printing that all its tests passed"
    elif [ "$rc" -eq 0 ] && [ -z "$results" ]; then
        reason="binary $label exited 0 without a test result line"
    fi
    if [ -n "$reason" ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ -n "$reason" ]; then
        failures+=("$reason")
    elif [ "$f" -gt 0 ]; then
        failures+=("binary $label: $f failed")
    fi
    if [ -n "$reason" ] || [ "$f" -gt 0 ]; then
        echo "    $label: $p passed, $f failed: FAILED${reason:+ ($reason)}; last lines:"
        grep -E '^test .* \.\.\. FAILED$' "$log" | head -n 20 | sed 's/^/    | /'
        show_tail "$log" 30
        return 1
    fi
    echo "    $label: $p passed, $f failed"
    return 0
}

# cargo_artifacts JSON_FILE KIND: from the JSON messages of `cargo build/test --message-format=json`,
# one line per executable: "LABEL<TAB>PACKAGE_DIR<TAB>EXECUTABLE". KIND "test": test binaries
# (profile.test); "bin": other executables.
cargo_artifacts() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys
path, kind = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8", errors="replace") as f:
    for line in f:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("reason") != "compiler-artifact" or not m.get("executable"):
            continue
        if bool(m.get("profile", {}).get("test")) != (kind == "test"):
            continue
        pkg_dir = os.path.dirname(m.get("manifest_path", ""))
        src = m.get("target", {}).get("src_path", "")
        label = os.path.relpath(src, pkg_dir) if pkg_dir and src else m["target"]["name"]
        if m["target"].get("kind") != ["test"]:
            label += " (unit tests)"
        print(f"{label}\t{pkg_dir}\t{m['executable']}")
EOF
}

# cargo_tests NAME CARGO_TEST_ARGS...: builds the test binaries of `cargo test ARGS` and runs
# every one of them (all of them, whatever fails: --no-fail-fast), in its package directory as
# cargo does. Doc tests are not run here (see cargo_doc_tests). Returns 0 when all passed.
cargo_tests() {
    local name=$1 start=$SECONDS json log rc ok=0 label dir exe n=0 bstart
    shift
    json="$COUNT_LOG_DIR/$name.build.json"
    log="$COUNT_LOG_DIR/$name.build.log"
    echo "=== $name"
    if ! cargo test --no-run --message-format=json "$@" >"$json" 2>"$log"; then
        echo "    FAILED: the tests did not build (cargo test --no-run $*); last lines:"
        show_tail "$log"
        count_fail "$name: build failed, no test ran"
        return 1
    fi
    while IFS=$'\t' read -r label dir exe; do
        n=$((n + 1))
        log="$COUNT_LOG_DIR/$name.$n.log"
        bstart=$SECONDS
        rc=0
        (cd "$dir" && CARGO_MANIFEST_DIR="$dir" "$exe") >"$log" 2>&1 </dev/null || rc=$?
        {
            echo "--- $label ($exe, exit status $rc, $((SECONDS - bstart)) s)"
            cat "$log"
            # A binary that died mid-line leaves no newline.
            if [ -s "$log" ] && [ -n "$(tail -c 1 "$log")" ]; then echo; fi
        } >>"$COUNT_LOG_DIR/$name.log"
        judge_binary "$label" "$log" "$rc" || ok=1
    done < <(cargo_artifacts "$json" test)
    if [ "$n" -eq 0 ]; then
        echo "    FAILED: cargo test --no-run $* built no test binary"
        count_fail "$name: no test binary"
        return 1
    fi
    echo "    $n binaries, $([ "$ok" = 0 ] && echo ok || echo FAILED) ($((SECONDS - start)) s)"
    return "$ok"
}

# cargo_doc_tests NAME CARGO_TEST_ARGS...: `cargo test --doc ARGS`, judged like one binary
# (its exit status counts too).
cargo_doc_tests() {
    local name=$1 log rc=0
    shift
    log="$COUNT_LOG_DIR/$name.log"
    echo "=== $name"
    cargo test --doc "$@" >"$log" 2>&1 </dev/null || rc=$?
    judge_binary "doc tests" "$log" "$rc"
}

# fuzz_targets NAME MANIFEST REGRESSIONS_DIR: builds every fuzz target of the cargo-fuzz crate
# MANIFEST (one test; a plain release build with the stable toolchain: libfuzzer-sys links
# libFuzzer's driver, without coverage instrumentation), then replays each REGRESSIONS_DIR/*.bin
# once through the target named by its prefix (the part before the first "-":
# session-foo.bin -> session), one test each. An unknown prefix, a replay that exits non-zero or
# does not say it executed the file, and every file when the build failed, are failures.
fuzz_targets() {
    local name=$1 manifest=$2 dir=$3 json log rc label pkg exe file base target start=$SECONDS
    local replayed=0
    local -A exes=()
    json="$COUNT_LOG_DIR/$name.build.json"
    log="$COUNT_LOG_DIR/$name.build.log"
    echo "=== $name"
    if cargo build --release --bins --manifest-path "$manifest" --message-format=json >"$json" 2>"$log"; then
        while IFS=$'\t' read -r label pkg exe; do
            exes[$(basename "$exe")]=$exe
        done < <(cargo_artifacts "$json" bin)
    fi
    if [ ${#exes[@]} -eq 0 ]; then
        echo "    FAILED: the fuzz targets did not build; last lines:"
        show_tail "$log"
        count_fail "$name: build failed"
    else
        passed=$((passed + 1))
        echo "    built: ${!exes[*]} ($((SECONDS - start)) s)"
    fi
    for file in "$dir"/*.bin; do
        [ -e "$file" ] || continue
        base=$(basename "$file")
        target=${base%%-*}
        log="$COUNT_LOG_DIR/$name.$base.log"
        if [ ${#exes[@]} -eq 0 ]; then
            count_fail "$name: $base not replayed (no fuzz target built)"
            continue
        fi
        if [ -z "${exes[$target]:-}" ]; then
            echo "    $base: FAILED (no fuzz target named '$target'; targets: ${!exes[*]})"
            count_fail "$name: $base names no fuzz target"
            continue
        fi
        rc=0
        "${exes[$target]}" "$file" >"$log" 2>&1 </dev/null || rc=$?
        if [ "$rc" -eq 0 ] && grep -qF "Executed $file" "$log"; then
            passed=$((passed + 1))
            replayed=$((replayed + 1))
        else
            echo "    $base through $target: FAILED (exit status $rc); last lines:"
            show_tail "$log" 30
            count_fail "$name: $base through $target (exit status $rc)"
        fi
    done
    echo "    $replayed regression files replayed without a crash ($((SECONDS - start)) s)"
}

# count_finish PREFIX: prints the failures and the closing line "PREFIX: N passed, M failed";
# returns non-zero when anything failed. A recorded failure always counts (at least one).
count_finish() {
    if [ ${#failures[@]} -gt 0 ]; then
        echo "failed:"
        printf '  %s\n' "${failures[@]}"
        if [ "$failed" -eq 0 ]; then failed=1; fi
    fi
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# suite NAME COMMAND...: a test suite script. When the last line of its output is
# "N passed, M failed", those are its counts; otherwise it is one test. Either way a non-zero
# exit status is at least one failure (a suite that dies after its summary, or says 0 failed
# and exits 1, fails).
suite() {
    local name=$1 log="$COUNT_LOG_DIR/$1.log" rc=0 last p f
    step "$@" || rc=1
    last=$(tail -n 1 "$log")
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        p=${BASH_REMATCH[1]}
        f=${BASH_REMATCH[2]}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1
            failures+=("$name: exited non-zero after '$last'")
        elif [ "$f" -gt 0 ] || [ "$rc" -ne 0 ]; then
            failures+=("$name: $f failed")
        fi
        passed=$((passed + p))
        failed=$((failed + f))
        echo "    ($last)"
    elif [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        count_fail "$name"
    fi
}
