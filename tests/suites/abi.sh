#!/usr/bin/env bash
# ABI guard suite: the release library exports exactly the
# email_* symbols of abi/symbols.txt, the header declares exactly those with the prototypes of
# abi/prototypes.txt, the SONAME is right; and the checker itself catches a dropped, an added
# and a foreign export, and a changed result type.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --lib --quiet
# Only the library just built: Windows DLLs left in the target directory by an earlier build may
# be stale; tests/suites/windows.sh checks the DLLs it builds.
scripts/abi-check --header "$(readlink -f "$target/release/libimapmail.so")"

# The checker must fail on each kind of drift (run against a copy of the list).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
so="$target/release/libimapmail.so"
mkdir -p "$tmp/repo/abi" "$tmp/repo/scripts" "$tmp/repo/include"
cp scripts/abi-check "$tmp/repo/scripts/"
cp build.rs Makefile "$tmp/repo/"
cp include/imapmail.h "$tmp/repo/include/"
cp abi/prototypes.txt "$tmp/repo/abi/"
expect_fail() { # DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then echo "abi.sh: the checker accepted $what" >&2; cat "$tmp/out" >&2; exit 1; fi
    grep -q 'FAIL' "$tmp/out" || { echo "abi.sh: no FAIL line for $what" >&2; cat "$tmp/out" >&2; exit 1; }
    echo "abi.sh: checker rejects $what"
}
abs_so=$(readlink -f "$so")
sed '1d' abi/symbols.txt >"$tmp/repo/abi/symbols.txt"                  # one symbol unknown to the list
expect_fail_added() { (cd "$tmp/repo" && scripts/abi-check "$abs_so"); }
expect_fail "an added export" expect_fail_added
{ cat abi/symbols.txt; echo email_zz_removed_function; } | sort >"$tmp/repo/abi/symbols.txt"
expect_fail "a dropped export" expect_fail_added
cp abi/symbols.txt "$tmp/repo/abi/symbols.txt"
{ echo "LIBRARY imapmail.dll"; echo "EXPORTS"; sed 's/^/    /' abi/symbols.txt; echo "    rust_eh_personality"; } >"$tmp/x.def"
expect_fail_foreign() { (cd "$tmp/repo" && scripts/abi-check "$tmp/x.def"); }
expect_fail "a foreign (non email_) export" expect_fail_foreign
(cd "$tmp/repo" && scripts/abi-check --header "$abs_so" >/dev/null) || { echo "abi.sh: the checker rejected the unchanged list" >&2; exit 1; }
# A status result narrowed back to int32_t (the width 64-bit WINDEV misreads) is a signature change.
grep -q '^intptr_t email_read_first(' include/imapmail.h || { echo "abi.sh: email_read_first does not return intptr_t" >&2; exit 1; }
sed -i 's/^intptr_t email_read_first(/int32_t email_read_first(/' "$tmp/repo/include/imapmail.h"
expect_fail_signature() { (cd "$tmp/repo" && scripts/abi-check --header "$abs_so"); }
expect_fail "a changed result type" expect_fail_signature
grep -q 'was: intptr_t email_read_first' "$tmp/out" || { echo "abi.sh: the checker did not name the changed prototype" >&2; cat "$tmp/out" >&2; exit 1; }
echo "abi.sh: ok"
