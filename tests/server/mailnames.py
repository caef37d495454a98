"""Helpers shared by the test servers' seeding scripts (dovecot.sh's maildir writer and
imap_append.py for Cyrus and Courier): folder names in IMAP modified UTF-7 and a message's
internal date from its Date header. Standard library only (dovecot.sh runs python3 -S)."""
import base64
from email._parseaddr import mktime_tz, parsedate_tz


def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3): how folder names go on the wire and on disk."""
    out, buf = [], []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def internal_date(data):
    """Seconds since the epoch of the message's Date header (unfolded), or None."""
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    value = None
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if value is not None and line[:1] in (b" ", b"\t"):
            value += b" " + line.strip()
            continue
        if value is not None:
            break
        if line.lower().startswith(b"date:"):
            value = line[5:].strip()
    if value:
        try:
            return mktime_tz(parsedate_tz(value.decode("ascii", "replace")))
        except Exception:
            pass
    return None
