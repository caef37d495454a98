#!/usr/bin/env python3
"""Logs in to a test IMAP server over its plain listener and APPENDs messages, for
tests/server/cyrus.sh and courier.sh (one connection for many messages).

    imap_append.py PROG STYLE PORT USER PASSWORD FOLDER [S<path> | U<path> ...]

PROG names the calling script in error messages; STYLE is "plain" (folder names as given,
"/" separated) or "courier" (below "INBOX." with "." as separator). FOLDER "" only logs in
(the servers create INBOX and the special-use folders then). A missing FOLDER is created
with its parents, each a real (selectable) folder. "S" marks a message \\Seen.
Test fixture only: the password comes on the command line.
"""
import imaplib, os, socket, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mailnames import internal_date, mutf7  # noqa: E402

def die(msg):
    sys.stderr.write("%s: error: %s\n" % (PROG, msg))
    sys.exit(1)

def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

PROG, STYLE = sys.argv[1:3]
port, user, password, folder = sys.argv[3:7]
items = [(a[0] == "S", a[1:]) for a in sys.argv[7:]]
M = imaplib.IMAP4("127.0.0.1", int(port), timeout=60)
# imaplib writes a literal and its closing CRLF separately: without TCP_NODELAY every APPEND
# waits for the server's delayed ACK (about 40 ms).
M.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
try:
    M.login(user, password)
except imaplib.IMAP4.error as e:
    die("login of %r failed: %s" % (user, e))
if folder:
    if folder.upper() == "INBOX":
        target = "INBOX"
    elif STYLE == "courier":
        # Courier's folders live below "INBOX." with "." as separator.
        target = quote(mutf7("INBOX." + folder.replace("/", ".")))
    else:
        target = quote(mutf7(folder))
    if target != "INBOX":
        typ, _ = M.select(target)
        if typ != "OK":
            # Parents first, as real folders (as dovecot.sh makes them); one that exists
            # already is answered NO, which is fine.
            parts = folder.split("/")
            for depth in range(1, len(parts)):
                parent = "/".join(parts[:depth])
                if STYLE == "courier":
                    parent = "INBOX." + parent.replace("/", ".")
                M.create(quote(mutf7(parent)))
            typ, data = M.create(target)
            if typ != "OK":
                die("CREATE %s: %s" % (target, data))
            M.subscribe(target)
    for seen, path in items:
        with open(path, "rb") as f:
            data = f.read()
        t = internal_date(data)
        date = imaplib.Time2Internaldate(t if t is not None else time.time())
        # imaplib turns bare LF into CRLF, as any IMAP client must.
        typ, resp = M.append(target, "(\\Seen)" if seen else "()", date, data)
        if typ != "OK":
            die("APPEND %s to %s: %s" % (path, target, resp))
M.logout()
