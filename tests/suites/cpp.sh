#!/usr/bin/env bash
# The header-only C++ wrapper (include/imapmail.hpp):
# - coverage: every function declared in include/imapmail.h is called in include/imapmail.hpp
#   (comments stripped), so a new export cannot be forgotten; the check is shown to fail on a
#   copy of the wrapper with one call removed;
# - tests/cpp/wrapper_test.cpp built with g++ -std=c++17 -Wall -Wextra -Werror -Wpedantic
#   -Wshadow -Wconversion -Wsign-conversion and run against the throwaway Dovecot, then built
#   again with -fsanitize=address,undefined and run again: any sanitizer report fails the suite;
# - the header also compiles as C++20.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
log() { echo "cpp.sh: $*"; }
die() { echo "cpp.sh: FAIL: $*" >&2; exit 1; }
command -v g++ >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null; apt-get install -y -qq g++ >/dev/null; }
target=$(readlink -f "${CARGO_TARGET_DIR:-target}")
tmp=$(mktemp -d /tmp/imcpp.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT

# ---- coverage ----------------------------------------------------------------------------------
# Names of the functions the C header declares (declaration lines, not its comments).
c_functions() {
    grep -E '^[A-Za-z].*\bemail_[a-z0-9_]+\(' "$1" | grep -oE '\bemail_[a-z0-9_]+\(' | tr -d '(' | sort -u
}
# Prints the functions of C header $1 that C++ header $2 never calls (comments do not count).
missing_functions() {
    local called
    called=$(g++ -fpreprocessed -dD -E -P -x c++ "$2" 2>/dev/null | grep -oE '\bemail_[a-z0-9_]+[[:space:]]*\(' | tr -d '( \t' | sort -u)
    comm -23 <(c_functions "$1") <(printf '%s\n' "$called")
}
declared=$(c_functions include/imapmail.h | wc -l)
[ "$declared" -ge 100 ] || die "found only $declared functions in include/imapmail.h (pattern broken?)"
missing=$(missing_functions include/imapmail.h include/imapmail.hpp)
[ -z "$missing" ] || die "include/imapmail.hpp does not wrap: $(echo "$missing" | tr '\n' ' ')"
# The check must catch a missing export: drop the call of email_search_larger (kept in a comment).
sed 's|email_search_larger(q_, size)|/* email_search_larger(q_, size) */ 0|' include/imapmail.hpp >"$tmp/broken.hpp"
cmp -s include/imapmail.hpp "$tmp/broken.hpp" && die "coverage self-test: the sed edit no longer applies"
[ "$(missing_functions include/imapmail.h "$tmp/broken.hpp")" = "email_search_larger" ] ||
    die "coverage self-test: a wrapper without email_search_larger was not reported"
log "ok: all $declared functions of imapmail.h are wrapped (and a missing one is detected)"

# ---- build -------------------------------------------------------------------------------------
cargo build --release --lib --quiet
WARN=(-std=c++17 -Wall -Wextra -Werror -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Iinclude)
LINK=(-L"$target/release" -Wl,-rpath,"$target/release" -limapmail -pthread)
g++ "${WARN[@]}" -O1 -g -o "$tmp/wrapper_test" tests/cpp/wrapper_test.cpp "${LINK[@]}"
g++ "${WARN[@]}" -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
    -o "$tmp/wrapper_test_asan" tests/cpp/wrapper_test.cpp "${LINK[@]}"
# The header also compiles as C++20.
g++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -Wpedantic -Iinclude -x c++ - <<<'#include "imapmail.hpp"
int main() { return imapmail::version().empty(); }'

# ---- run ---------------------------------------------------------------------------------------
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
# The tests create and delete their own folders, so the second run starts from the same state.
"$tmp/wrapper_test" >"$tmp/plain.out" 2>&1 || { cat "$tmp/plain.out"; die "wrapper_test"; }
log "plain: $(tail -1 "$tmp/plain.out")"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
rc=0
"$tmp/wrapper_test_asan" >"$tmp/asan.out" 2>&1 || rc=$?
# A report fails the suite even if the program's exit status did not show it.
if [ "$rc" -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' "$tmp/asan.out"; then
    cat "$tmp/asan.out"
    die "wrapper_test under ASan/UBSan (exit $rc)"
fi
log "asan+ubsan: $(tail -1 "$tmp/asan.out")"
