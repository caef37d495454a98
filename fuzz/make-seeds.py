#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the recorded server
answers in tests/data/imap-transcripts/servers (LF converted to CRLF, since literal sizes count
CRLF), the messages in tests/corpus/*.eml and the transcripts' common/message.*.msg, and the
answers of tests/tolerance.rs (bare LF line ends, misspelt and unknown untagged responses).

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

# Tolerance (docs/reliability.md, "Tolerance"; the same answers as tests/tolerance.rs): a bare LF
# where CRLF belongs (GNU Mailutils imap4d ends the tagged OK of AUTHENTICATE so), misspelt and
# unknown untagged responses with and without literals (imap4d answers EXPUNGE with
# `* 9 EXPUNGED`), a FETCH response that does not parse, and broken frames.
def bare_lf(b):
    """CRLF -> LF at the end of protocol lines; literal data (after `{n}` CRLF) kept as it is."""
    out, i = bytearray(), 0
    while i < len(b):
        if b[i:i + 2] == b"\r\n":
            out += b"\n"
            i += 2
            m = re.search(rb"\{(\d+)\}\n$", bytes(out[-24:]))
            if m:
                n = int(m.group(1))
                out += b[i:i + n]
                i += n
        else:
            out.append(b[i])
            i += 1
    return bytes(out)

def before_done(answer, extra):
    """`extra` inserted before the tagged completion (the last line) of `answer`."""
    cut = answer.rstrip(b"\r\n").rfind(b"\n") + 1
    return answer[:cut] + extra + answer[cut:]

AUTH_CAPS = b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA######## OK done\r\n"
AUTH_LF = [b"+ \r\n", b"A######## OK AUTHENTICATE PLAIN authentication successful\n"]
BODY = fetch([(1, messages[0]), (2, messages[-1]), (5, messages[len(messages) // 2])])
MISSPELT = [b"* 9 EXPUNGED\r\n", b"* FOO {5}\r\nhello\r\n", b"* 3 XYZZY (1 {2}\r\n() \"x\")\r\n",
            b"* NOTIFY bar\n", b"* 1 FETCH (UID 1 BODY[] {3}\r\nabc GARBAGE(\r\n"]
tolerance = [
    # Capabilities in the greeting: no CAPABILITY command before the login.
    SEP.join([b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] imap4d ready\n"] + AUTH_LF + [CAPS, SELECT, LISTING, BODY]),
    script(caps=AUTH_CAPS, login=AUTH_LF),
    script(caps=AUTH_CAPS, login=[b"+\n", AUTH_LF[1]]),
    script(login=[b"A######## OK LOGIN completed\n"]),
    script(greeting=bare_lf(GREETING), caps=bare_lf(CAPS), login=[bare_lf(LOGIN[0])], select=bare_lf(SELECT),
           listing=bare_lf(LISTING), body=bare_lf(BODY)),
    script(body=bare_lf(BODY)),
    script(extra=[b"A######## OK EXPUNGE completed\r\n", before_done(b"A######## OK\r\n", b"* 9 EXPUNGED\r\n")]),
]
for extra in MISSPELT:
    tolerance.append(script(select=before_done(SELECT, extra)))
    tolerance.append(script(listing=before_done(LISTING, extra)))
    tolerance.append(script(body=before_done(BODY, extra)))
    # Between two FETCH answers of a read.
    first = BODY.index(b")\r\n") + 3
    tolerance.append(script(body=BODY[:first] + extra + BODY[first:]))
# Broken frames: a literal shorter than announced, in an unknown response and in a FETCH.
tolerance.append(script(body=b"* FOO {500}\r\nshort"))
tolerance.append(script(body=b"* 1 FETCH (UID 1 BODY[] {500}\nshort"))
for t in tolerance:
    save("session", t)
    save("guard", b"\x05" + t.replace(SEP, b""))
    save("guard", b"\x01" + t.replace(SEP, b""))
print("seeds:", {t: len(os.listdir(os.path.join(here, "corpus", t))) for t in os.listdir(os.path.join(here, "corpus"))})
