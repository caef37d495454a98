#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called indirectly (step, trap)
# The C test suite of imapmail: builds the release library, the C examples and the C tests,
# starts a throwaway Dovecot (tests/server/dovecot.sh) with the test mailboxes, then runs
#   - tests/c/api_test and tests/c/misuse under valgrind (memcheck: errors and definite leaks
#     fail; suppressions for code outside imapmail in tests/c/valgrind.supp),
#   - the same two programs built with -fsanitize=address,undefined (ASan + LSan + UBSan),
#   - the C examples read_inbox and get_all (examples-c/, built into the work directory)
#     against the demo mailbox.
# Ends with one line "N passed, M failed" (N and M count the checks of the test programs plus
# one per build or example step) and exits non-zero on any failure.
#
# Environment: CARGO_TARGET_DIR (default: target), CC (default: gcc), KEEP=1 keeps the work
# directory (logs, binaries, the Dovecot instance's files) for inspection.
#
# Mailboxes made here (the layout api_test.c and misuse.c expect):
#   bulk       INBOX: 200 generated messages, message n seen when n % 4 == 0
#   flagtest1, flagtest2
#              INBOX: 6 unread messages (one user per api_test run: the test changes \Seen)
#   corpus     INBOX: the messages of tests/corpus/expected.json in name order; "Odd;Name=1": a message with hostile
#              attachment names; "Dossier été/Sous-dossier": a copy of bulk message 001
#   demo       made by `dovecot.sh seed-demo` (for the examples)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
export PATH="$HOME/.cargo/bin:$PATH"

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
LIBDIR="$TARGET_DIR/release"
CC="${CC:-gcc}"
DOVECOT="$ROOT/tests/server/dovecot.sh"
PASSWORD="c-suite-Pw-51f7"

passed=0
failed=0
failures=()

WORK="$(mktemp -d /tmp/imapmail-c.XXXXXX)" || exit 1
DC="$WORK/dc"
cleanup() {
    if [ -e "$DC/run" ]; then
        "$DOVECOT" stop "$DC" >/dev/null 2>&1 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then
        echo "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { printf '%s\n' "$*"; }

fail_step() { # fail_step NAME [LOG]
    failed=$((failed + 1))
    failures+=("$1")
    note "    FAILED: $1"
    if [ -n "${2:-}" ] && [ -s "$2" ]; then
        tail -n 40 "$2" | sed 's/^/    | /'
    fi
}

step() { # step NAME COMMAND... : one check; the output goes to $WORK/NAME.log
    local name=$1 log="$WORK/$1.log" start=$SECONDS
    shift
    note "=== $name"
    if "$@" >"$log" 2>&1; then
        passed=$((passed + 1))
        note "    ok ($((SECONDS - start)) s)"
        return 0
    fi
    fail_step "$name" "$log"
    return 1
}

finish() {
    echo
    if [ ${#failures[@]} -gt 0 ]; then
        echo "failed: ${failures[*]}"
    fi
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# run_tests NAME COMMAND... : runs a test program whose output ends with "N passed, M failed"
# and adds its counts; a non-zero exit without failed checks (crash, valgrind or sanitizer
# error) counts as one more failure.
run_tests() {
    local name=$1 log="$WORK/$1.log" start=$SECONDS rc=0 p f summary
    shift
    note "=== $name"
    "$@" >"$log" 2>&1 || rc=$?
    summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
    if [ -n "$summary" ]; then
        p="${summary%% passed*}"
        f="${summary#*, }"
        f="${f%% failed*}"
    else
        p=0
        f=0
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    note "    $p passed, $f failed, exit $rc ($((SECONDS - start)) s)"
    if [ "$f" -gt 0 ]; then
        failures+=("$name")
        grep -E '^FAIL ' "$log" | head -n 40 | sed 's/^/    | /'
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail_step "$name (exit status $rc${summary:+ after: $summary})" "$log"
    elif [ "$rc" -eq 0 ] && [ -z "$summary" ]; then
        fail_step "$name (no summary line)" "$log"
    fi
    if grep -qE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]|ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
        note "    memory errors reported, see $log:"
        grep -E -A12 'Invalid (read|write)|definitely lost in|ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" |
            head -n 60 | sed 's/^/    | /'
    fi
}

# ------------------------------------------------------------------------------------------
# Build

need=()
command -v "$CC" >/dev/null 2>&1 || need+=(gcc)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
command -v make >/dev/null 2>&1 || need+=(make)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    step setup "$ROOT/scripts/setup" || finish
fi

step cargo-build-release cargo build --release || finish

# GNU make cannot handle file names with spaces, and the clone may live in such a path: the
# examples are built through space-free symlinks in $WORK, into $WORK/examples.
EX="$WORK/examples"
ln -s "$ROOT" "$WORK/repo"
ln -s "$LIBDIR" "$WORK/libdir"
step examples-c-build make -f "$WORK/repo/examples-c/Makefile" LIBDIR="$WORK/libdir" \
    INCDIR="$WORK/repo/include" BUILD="$EX" CC="$CC" || true

BIN="$WORK/bin"
mkdir -p "$BIN/lib"
# The library's SONAME (libimapmail.so.0) is not made by cargo: link it in $BIN/lib.
soname="$(readelf -d "$LIBDIR/libimapmail.so" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
if [ -n "$soname" ]; then ln -sf "$LIBDIR/libimapmail.so" "$BIN/lib/$soname"; fi
WARN=(-std=c99 -pedantic -Wall -Wextra -Werror)
# shellcheck disable=SC2054 # the commas belong to the linker option
LINK=(-L"$LIBDIR" -Wl,-rpath,"$BIN/lib:$LIBDIR" -limapmail -pthread)
for t in api_test misuse; do
    step "build-$t" "$CC" "${WARN[@]}" -g -O1 -I"$ROOT/include" -o "$BIN/$t" "tests/c/$t.c" "${LINK[@]}" || true
    step "build-$t-asan" "$CC" "${WARN[@]}" -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
        -fno-sanitize-recover=undefined -I"$ROOT/include" -o "$BIN/$t-asan" "tests/c/$t.c" "${LINK[@]}" || true
done

# ------------------------------------------------------------------------------------------
# Server and mailboxes

# Every command of a step function ends in "|| return 1": step() calls the function as an "if"
# condition, where bash ignores set -e (in the function and in any subshell of it).
seed() {
    DOVECOT_OWNER_PID=$$ "$DOVECOT" start "$DC" || return 1
    python3 "$ROOT/tests/c/gen_messages.py" "$WORK/gen" || return 1
    local u n f args=()
    for u in bulk flagtest1 flagtest2 corpus; do
        "$DOVECOT" add-user "$DC" "$u" "$PASSWORD" || return 1
    done
    for n in $(seq 1 200); do
        f="$(printf '%s/gen/bulk/%03d.eml' "$WORK" "$n")"
        if [ $((n % 4)) -eq 0 ]; then args+=(--seen "$f"); else args+=("$f"); fi
    done
    "$DOVECOT" add-messages "$DC" bulk INBOX "${args[@]}" || return 1
    "$DOVECOT" add-messages "$DC" flagtest1 INBOX "$WORK"/gen/flags/*.eml || return 1
    "$DOVECOT" add-messages "$DC" flagtest2 INBOX "$WORK"/gen/flags/*.eml || return 1
    local corpus=()
    mapfile -t corpus < <(python3 "$ROOT/tests/c/corpus_expect.py" --files "$ROOT/tests/corpus/expected.json")
    [ ${#corpus[@]} -gt 0 ] || { echo "corpus_expect.py listed no corpus file"; return 1; }
    "$DOVECOT" add-messages "$DC" corpus INBOX "${corpus[@]}" || return 1
    "$DOVECOT" add-message "$DC" corpus 'Odd;Name=1' "$WORK/gen/hostile.eml" || return 1
    "$DOVECOT" add-message "$DC" corpus 'Dossier été/Sous-dossier' "$WORK/gen/bulk/001.eml" || return 1
    "$DOVECOT" seed-demo "$DC" || return 1
    python3 "$ROOT/tests/c/corpus_expect.py" "$ROOT/tests/corpus/expected.json" >"$WORK/corpus.txt" || return 1
    # What the test programs need from here on: a failure above must not leave them half a server.
    [ -s "$DC/env" ] && [ -s "$WORK/corpus.txt" ] && [ -s "$WORK/gen/hostile.txt" ] ||
        { echo "seeding left no $DC/env, corpus.txt or hostile.txt"; return 1; }
}
if ! step dovecot-start-and-seed seed; then
    finish
fi
# shellcheck disable=SC1091
. "$DC/env"
export IMAP_HOST=127.0.0.1 IMAP_PORT IMAPS_PORT CA_FILE TEST_PASSWORD="$PASSWORD"
export TEST_USER_BULK=bulk TEST_USER_CORPUS=corpus
export CORPUS_EXPECTED="$WORK/corpus.txt" HOSTILE_EXPECTED="$WORK/gen/hostile.txt"
mkdir -p "$WORK/tmp"
export TEST_TMPDIR="$WORK/tmp"

# ------------------------------------------------------------------------------------------
# The tests

# Under valgrind, OpenSSL parsing the ~140 system root certificates for every TLS session costs
# seconds each; the valgrind runs therefore get an empty system trust store (SSL_CERT_FILE,
# SSL_CERT_DIR). The code path is the same, the test CA is still only trusted through ca_file,
# and the ASan runs and the examples use the real system store.
: >"$WORK/empty-roots.pem"
VALGRIND=(env SSL_CERT_FILE="$WORK/empty-roots.pem" SSL_CERT_DIR="$WORK/no-such-dir"
    valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite --suppressions="$ROOT/tests/c/valgrind.supp" --num-callers=40)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
if [ -s "$ROOT/tests/c/lsan.supp" ]; then
    export LSAN_OPTIONS="suppressions=$ROOT/tests/c/lsan.supp:print_suppressions=0"
fi

[ -x "$BIN/misuse" ] && run_tests misuse-valgrind "${VALGRIND[@]}" "$BIN/misuse"
[ -x "$BIN/api_test" ] && TEST_USER_FLAGS=flagtest1 run_tests api_test-valgrind "${VALGRIND[@]}" "$BIN/api_test"
[ -x "$BIN/misuse-asan" ] && run_tests misuse-asan "$BIN/misuse-asan"
[ -x "$BIN/api_test-asan" ] && TEST_USER_FLAGS=flagtest2 run_tests api_test-asan "$BIN/api_test-asan"

# ------------------------------------------------------------------------------------------
# The examples

expected_subject="$(python3 "$ROOT/tests/c/corpus_expect.py" --subject 01-plain-ascii.eml \
    "$ROOT/tests/corpus/expected.json" 2>/dev/null)"
example_read_inbox() {
    IMAPMAIL_PASSWORD=demo-password "$EX/read_inbox" 127.0.0.1 "$IMAPS_PORT" demo tls INBOX 0 "$CA_FILE" >"$WORK/read_inbox.out" || return 1
    cat "$WORK/read_inbox.out"
    [ -n "$expected_subject" ] || { echo "no expected subject for 01-plain-ascii.eml"; return 1; }
    grep -qF "Subject: $expected_subject" "$WORK/read_inbox.out" || { echo "subject '$expected_subject' not found"; return 1; }
    grep -q '^UID ' "$WORK/read_inbox.out" || return 1
    grep -q '^  Attachment 1: ' "$WORK/read_inbox.out" || { echo "no attachment listed"; return 1; }
}
example_read_inbox_modes() {
    IMAPMAIL_PASSWORD=demo-password "$EX/read_inbox" 127.0.0.1 "$IMAP_PORT" demo starttls INBOX 1 "$CA_FILE" |
        tee "$WORK/unread.out" || return 1
    grep -q 'Read:    no' "$WORK/unread.out" || { echo "unread-only run listed no unread message"; return 1; }
    ! grep -q 'Read:    yes' "$WORK/unread.out" || { echo "unread-only run listed a read message"; return 1; }
    IMAPMAIL_PASSWORD=demo-password "$EX/read_inbox" 127.0.0.1 "$IMAP_PORT" demo none INBOX 0 >"$WORK/plain.out" || return 1
    grep -q '^UID ' "$WORK/plain.out" || { echo "the plain-mode run listed no message"; return 1; }
    IMAPMAIL_PASSWORD="$PASSWORD" "$EX/read_inbox" 127.0.0.1 "$IMAPS_PORT" corpus tls 'Odd;Name=1' 0 "$CA_FILE" |
        tee "$WORK/odd.out" || return 1
    grep -q 'Subject: Hostile attachment names' "$WORK/odd.out" || { echo "hostile message not listed"; return 1; }
}
example_read_inbox_errors() {
    local rc=0
    IMAPMAIL_PASSWORD=wrong-Pw-0c3b "$EX/read_inbox" 127.0.0.1 "$IMAPS_PORT" demo tls INBOX 0 "$CA_FILE" >"$WORK/err.out" 2>&1 || rc=$?
    cat "$WORK/err.out"
    [ "$rc" -ne 0 ] && grep -q EMAIL_ERR_AUTH "$WORK/err.out" && ! grep -q 'wrong-Pw-0c3b' "$WORK/err.out" || return 1
    rc=0
    IMAPMAIL_PASSWORD=demo-password "$EX/read_inbox" 127.0.0.1 "$IMAPS_PORT" demo tls INBOX 0 >"$WORK/err.out" 2>&1 || rc=$?
    cat "$WORK/err.out"
    [ "$rc" -ne 0 ] && grep -q EMAIL_ERR_TLS "$WORK/err.out" || return 1
    rc=0
    "$EX/read_inbox" 127.0.0.1 1 demo tls >"$WORK/err.out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] && grep -q usage "$WORK/err.out"
}
example_get_all() {
    local out="$WORK/attachments"
    mkdir -p "$out"
    IMAPMAIL_PASSWORD=demo-password "$EX/get_all" 127.0.0.1 "$IMAPS_PORT" demo tls INBOX "$out" "$CA_FILE" | tee "$WORK/get_all.out" || return 1
    grep -q '^  saved ' "$WORK/get_all.out" || return 1
    [ -n "$(ls -A "$out")" ] || return 1
    # Run again: nothing is overwritten, the names get " (1)".
    IMAPMAIL_PASSWORD=demo-password "$EX/get_all" 127.0.0.1 "$IMAPS_PORT" demo tls INBOX "$out" "$CA_FILE" >/dev/null || return 1
    ls -l "$out"
    [ "$(find "$out" -mindepth 1 | wc -l)" -eq $((2 * $(grep -c '^  saved ' "$WORK/get_all.out"))) ]
}
if [ -x "$EX/read_inbox" ]; then
    step example-read_inbox example_read_inbox || true
    step example-read_inbox-modes example_read_inbox_modes || true
fi
if [ -x "$EX/get_all" ]; then
    step example-get_all example_get_all || true
fi
# The examples under valgrind too (they must not leak either).
if [ -x "$EX/get_all" ]; then
    mkdir -p "$WORK/attachments-vg"
    step example-get_all-valgrind env IMAPMAIL_PASSWORD=demo-password "${VALGRIND[@]}" "$EX/get_all" 127.0.0.1 \
        "$IMAPS_PORT" demo tls INBOX "$WORK/attachments-vg" "$CA_FILE" || true
fi
# Last: a failed login makes Dovecot delay the next logins from this address.
if [ -x "$EX/read_inbox" ]; then
    step example-read_inbox-errors example_read_inbox_errors || true
fi

finish
