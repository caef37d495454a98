# Shared by the packaging suites (windows, install, python, cpp, windev_mirror): starts a
# throwaway Dovecot (tests/server/dovecot.sh) with user "pkg" and three known messages:
#   UID 1 "Hello from imapmail"       seen, From Alice Example <alice@example.com>, Cc Carol
#   UID 2 "Grüße 😀 𝄞"               unseen, From Zoë <zoe@example.com> (non-BMP characters)
#   UID 3 "Report with attachments"  unseen, report.txt (30 bytes) + data.bin (bytes 0..255)
# and folder "Tiny" with one small unseen message "Tiny" (for TLS runs under Wine 8, whose
# SChannel stalls on TLS records split across reads: its responses stay under 1 KiB).
# Usage (bash):  . tests/packaging/fixture.sh; fixture_start
# Then: $IMAP_PORT (plain/STARTTLS), $IMAPS_PORT, $CA_FILE, $FIX_USER, $FIX_PASS, $FIX_DIR.
# The instance stops when the calling shell exits (its EXIT trap must call fixture_stop when it
# has one; otherwise fixture_start sets one) or dies (dovecot.sh watchdog).

FIX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FIX_USER=pkg
FIX_PASS=pkg-password-1

fixture_stop() {
    if [ -n "${FIX_TMP:-}" ] && [ -d "$FIX_TMP" ]; then
        bash "$FIX_ROOT/tests/server/dovecot.sh" stop "$FIX_TMP/d" </dev/null >/dev/null 2>&1 || true
        rm -rf "$FIX_TMP"
    fi
}

fixture_start() {
    FIX_TMP=$(mktemp -d /tmp/imf.XXXXXX)
    # A caller with its own EXIT trap calls fixture_stop from it; otherwise stop on exit here.
    [ -n "$(trap -p EXIT)" ] || trap fixture_stop EXIT
    DOVECOT_OWNER_PID=$$ bash "$FIX_ROOT/tests/server/dovecot.sh" start "$FIX_TMP/d" </dev/null >"$FIX_TMP/start.log" 2>&1 || {
        cat "$FIX_TMP/start.log" >&2
        echo "fixture: dovecot did not start" >&2
        return 1
    }
    FIX_DIR="$FIX_TMP/d"
    # shellcheck disable=SC1091
    . "$FIX_DIR/env"
    export IMAP_PORT IMAPS_PORT CA_FILE FIX_USER FIX_PASS FIX_DIR
    bash "$FIX_ROOT/tests/server/dovecot.sh" add-user "$FIX_DIR" "$FIX_USER" "$FIX_PASS"
    local mail="$FIX_ROOT/tests/packaging/mail"
    bash "$FIX_ROOT/tests/server/dovecot.sh" add-messages "$FIX_DIR" "$FIX_USER" INBOX \
        --seen "$mail/01-hello.eml" "$mail/02-unicode.eml" "$mail/03-attachments.eml"
    bash "$FIX_ROOT/tests/server/dovecot.sh" add-messages "$FIX_DIR" "$FIX_USER" Tiny "$mail/04-tiny.eml"
}
