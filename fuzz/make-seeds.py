#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the recorded server
answers in ../shared/imap-transcripts/servers (LF converted to CRLF, since literal sizes count
CRLF) and the messages in tests/corpus/*.eml and the transcripts' common/message.*.msg.

Session seeds are whole server scripts: answers separated by 0xFF, the first being the greeting,
then one answer per client command (CAPABILITY, login, CAPABILITY, SELECT, listing FETCH, body
FETCH, ...), `A########` standing for the tag. Each transcript file is tried in each step.
"""
import glob, hashlib, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.dirname(here)
shared = os.environ.get("IMAP_TRANSCRIPTS", os.path.join(repo, "tests", "data", "imap-transcripts", "servers"))
SEP = b"\xff"

def crlf(b):
    return re.sub(rb"(?<!\r)\n", b"\r\n", b)

def save(target, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def read(p):
    with open(p, "rb") as f:
        return crlf(f.read())

messages = []
for p in sorted(glob.glob(os.path.join(repo, "tests", "corpus", "*.eml")) + glob.glob(os.path.join(shared, "common", "message.*.msg"))):
    messages.append(read(p))
# Malformed mail and the differential test's corpus, as written (LF-only ones included).
for p in sorted(glob.glob(os.path.join(repo, "tests", "broken", "*.eml")) + glob.glob(os.path.join(repo, "tests", "reference", "corpus", "*", "*.*"))):
    if "LICENSE" not in p:
        with open(p, "rb") as f:
            messages.append(f.read())
# The parsing corners of issue #17: dates without seconds and obsolete forms, invalid
# Content-Types, RFC 2231 blank or unknown charsets in every mix, header blocks not ended by
# a blank line (also in parts), boundaries that extend others or never occur.
for d in [b"Tue, 10 Mar 2026 10:00 +0100", b"10 Mar 26 10:00:01+0000", b"Thu,\r\n 13\r\n Feb 1969 23:32 -0330 (x (y\\)) z)", b"1 Jan 049 00:00 JST", b"1 Jan 2001 00:01+"]:
    messages.append(b"Date: " + d + b"\r\nSubject: d\r\n\r\nx")
for ct in [b"text", b"text/", b"/", b"a/b/c; charset=utf-8", b"multipart/mixed; boundary*=''B", b"multipart/mixed; boundary*0*=x-unknown''%42; boundary*1=", b"multipart/mixed; boundary*0=B; boundary*1*=%"]:
    messages.append(b"Content-Type: " + ct + b"\r\n\r\n--B\r\nContent-Type: text/plain\r\nno blank line\r\n--B\r\nContent-Disposition: attachment; filename*=''a%FF\r\n\r\nx\r\n--B--\r\n")
messages.append(b"Subject: s\r\nnot a field\r\nTo: x\r\n\r\nbody")
messages.append(b"Subject: s\r\nbody line\r\nKey: v")
messages.append(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--bD\r\n--b \t\r\n--bD--\r\n--b--")
if not messages:
    messages.append(b"From: a@b\r\nSubject: hi\r\n\r\nbody\r\n")
for m in messages:
    save("message", m)

GREETING = b"* OK IMAP4rev1 ready\r\n"
CAPS = b"* CAPABILITY IMAP4rev1 IDLE\r\nA######## OK done\r\n"
LOGIN = [b"A######## OK logged in\r\n"]
SELECT = b"* 3 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] x\r\n* FLAGS (\\Seen)\r\nA######## OK [READ-WRITE] SELECT done\r\n"
LISTING = b"* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 100)\r\n* 2 FETCH (UID 2 FLAGS (\\Seen) RFC822.SIZE 200)\r\n* 3 FETCH (UID 5 FLAGS () RFC822.SIZE 300)\r\nA######## OK done\r\n"

def fetch(pairs, item=b"BODY[]"):
    out = b""
    for i, (uid, body) in enumerate(pairs):
        out += b"* %d FETCH (UID %d FLAGS () RFC822.SIZE %d %s {%d}\r\n" % (i + 1, uid, len(body), item, len(body)) + body + b")\r\n"
    return out + b"A######## OK done\r\n"

def script(greeting=GREETING, caps=CAPS, login=None, select=SELECT, listing=LISTING, body=None, extra=()):
    login = login or LOGIN
    body = body or fetch([(1, messages[0]), (2, messages[-1]), (5, messages[len(messages) // 2])])
    parts = [greeting, caps] + login + [caps, select, listing, body] + list(extra)
    return SEP.join(parts)

save("session", script())
for m in messages[:40]:
    save("session", script(body=fetch([(1, m)])))
    save("session", script(extra=[listing_headers for listing_headers in [LISTING, fetch([(1, m)], b"BODY[HEADER]")]]))

files = sorted(glob.glob(os.path.join(shared, "**", "*.txt"), recursive=True))
for p in files:
    data = read(p)
    name = os.path.basename(p)
    if "greeting" in name:
        save("session", script(greeting=data))
        continue
    if name.startswith("capabilit"):
        save("session", script(caps=data))
    if name.startswith(("authenticate", "login")):
        save("session", script(login=[b"+ \r\n", data]))
    if name.startswith(("select", "examine")):
        save("session", script(select=data))
    save("session", script(listing=data))
    save("session", script(body=data))

for o in [b"", b"timeout_ms=1500", b"folder=A\\;B\\=C;ca_file=/tmp/x.pem", b"max_message_bytes=1048576 ; trace_file=/tmp/t",
          b"timeout_ms", b"=x", b"folder=\xc3\xa9t\xc3\xa9", b";;;", b"a=b=c;\\\\;"]:
    save("options", o)

for p in files[:200]:
    save("guard", b"\x05" + read(p))
print("seeds:", {t: len(os.listdir(os.path.join(here, "corpus", t))) for t in os.listdir(os.path.join(here, "corpus"))})
