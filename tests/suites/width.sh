#!/usr/bin/env bash
# Result width and host threads, on the Linux build:
# - tests/c/width_test.c loads libimapmail.so with dlopen and calls every export the header
#   declares as returning intptr_t through pointers returning intptr_t (how 64-bit WINDEV's
#   API() reads a result: the whole register) and int32_t (4 bytes), with arguments that make
#   it fail, checking the exact negative statuses; the exports it covers must be exactly the
#   header's intptr_t functions. (tests/suites/windows.sh runs the same program against the
#   x64 DLL, the x86 DLL and the x86 stdcall forwarder under Wine.)
# - tests/c/host_threads_test.c, built with AddressSanitizer, against the throwaway Dovecot:
#   error strings stay valid while other threads use or close the session, and
#   email_session_progress answers while the session is busy (run under `timeout` only as a
#   hang detector: a poll that waited for the session would never return).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { echo "width.sh: $*"; }
die() { echo "width.sh: FAIL: $*" >&2; exit 1; }
command -v gcc >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null; apt-get install -y -qq gcc >/dev/null; }
target=$(readlink -f "${CARGO_TARGET_DIR:-target}")
cargo build --release --lib --quiet
tmp=$(mktemp -d /tmp/imwidth.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT
WARN=(-std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Iinclude)

# ---- width -------------------------------------------------------------------------------------
gcc "${WARN[@]}" -O1 -o "$tmp/width_test" tests/c/width_test.c -ldl
"$tmp/width_test" "$target/release/libimapmail.so" >"$tmp/width.out" || { cat "$tmp/width.out"; die "width_test"; }
tail -1 "$tmp/width.out"
# shellcheck source=tests/c/width_coverage.sh
. tests/c/width_coverage.sh
width_coverage "$tmp/width.out" || die "width_test does not cover exactly the header's intptr_t functions"
log "ok: $(grep -c '^covered: ' "$tmp/width.out") intptr_t exports read as 8 and 4 bytes give the documented statuses"

# ---- threads (ASan) ----------------------------------------------------------------------------
gcc "${WARN[@]}" -O1 -g -fsanitize=address -fno-omit-frame-pointer -pthread -o "$tmp/host_threads_test" \
    tests/c/host_threads_test.c -L"$target/release" -Wl,-rpath,"$target/release" -limapmail
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
# detect_leaks=0: the Rust library keeps per-thread and global caches for the process's life.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 IMAPMAIL_PASSWORD=$FIX_PASS \
    timeout 300 "$tmp/host_threads_test" 127.0.0.1 "$IMAP_PORT" "$FIX_USER" || die "host_threads_test (exit $?)"
log "ok"
