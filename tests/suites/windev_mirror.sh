#!/usr/bin/env bash
# The WINDEV guide's calling sequences (docs/windev.md), mirrored one to one by
# tests/c/windev_mirror.c (library loaded at run time, functions called by name, handles as
# system integers, strings through email_copy_utf16), run against the throwaway Dovecot.
# Also checks that docs/windev.md documents every exported function of abi/symbols.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
target=$(readlink -f "${CARGO_TARGET_DIR:-target}")
cargo build --release --lib --quiet
missing=$(comm -23 abi/symbols.txt <(grep -oE '\bemail_[a-z0-9_]+' docs/windev.md | sort -u))
if [ -n "$missing" ]; then
    echo "windev_mirror.sh: docs/windev.md does not document (run scripts/gen-windev-reference):" >&2
    echo "$missing" | sed 's/^/    /' >&2
    exit 1
fi
tmp=$(mktemp -d /tmp/imwd.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT
cc -std=c99 -O1 -g -Wall -Wextra -Werror -o "$tmp/windev_mirror" tests/c/windev_mirror.c -ldl
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
mkdir -p "$tmp/saved"
IMAPMAIL_PASSWORD=$FIX_PASS "$tmp/windev_mirror" "$target/release/libimapmail.so" 127.0.0.1 "$IMAPS_PORT" "$IMAP_PORT" \
    "$FIX_USER" "$CA_FILE" "$tmp/saved"
[ "$(ls "$tmp/saved" | sort | tr '\n' ' ')" = "data.bin report.txt " ] || { ls -la "$tmp/saved"; echo "windev_mirror.sh: saved files differ" >&2; exit 1; }
