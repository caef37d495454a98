#!/usr/bin/env bash
# The WINDEV guide (docs/windev.md) and the WLanguage class (docs/windev/cIMAPMail.wl), mirrored call
# for call by tests/c/windev_mirror.c: the library loaded at run time, every function looked up by
# name and called through a pointer typed the way WINDEV's API() passes arguments (system ints)
# and reads results (a whole system int), text through email_copy_utf16; run against the
# throwaway Dovecot. Before that:
# - every exported function of abi/symbols.txt is documented in docs/windev.md, and its generated
#   reference is up to date (scripts/gen-windev-reference --check);
# - every API() call of the guide and the class names an export, with the header's number of
#   arguments, and is made by the mirror; their CONSTANT blocks match imapmail.h
#   (scripts/gen-windev-reference --check-mirror).
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
python3 scripts/gen-windev-reference --check
python3 scripts/gen-windev-reference --check-mirror
tmp=$(mktemp -d /tmp/imwd.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT
cc -std=c99 -O1 -g -Wall -Wextra -Werror -pthread -o "$tmp/windev_mirror" tests/c/windev_mirror.c -ldl
# The mirror also builds for Windows: x86 with __stdcall pointers (API() calling
# imapmail_stdcall.dll; tests/suites/windows.sh runs that build under 32-bit Wine), x64 with the
# one convention.
for cc_win in i686-w64-mingw32-gcc x86_64-w64-mingw32-gcc; do
    if command -v "$cc_win" >/dev/null; then
        "$cc_win" -std=c99 -O1 -Wall -Wextra -Werror -o "$tmp/windev_mirror-$cc_win.exe" tests/c/windev_mirror.c
    else
        echo "windev_mirror.sh: $cc_win not installed: the Windows build of the mirror is not compiled"
    fi
done
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
mkdir -p "$tmp/saved"
IMAPMAIL_PASSWORD=$FIX_PASS WINDEV_MIRROR_SECURITY=tls "$tmp/windev_mirror" "$target/release/libimapmail.so" 127.0.0.1 "$IMAPS_PORT" "$IMAP_PORT" \
    "$FIX_USER" "$CA_FILE" "$tmp/saved"
[ "$(ls "$tmp/saved" | sort | tr '\n' ' ')" = "data.bin report.txt " ] || { ls -la "$tmp/saved"; echo "windev_mirror.sh: saved files differ" >&2; exit 1; }
