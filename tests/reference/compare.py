#!/usr/bin/env python3
"""Differential test: imapmail's decoding (read through the C accessors by the example
mime_reference_dump) against Python's email package (policy=email.policy.default), the
reference most mail tools are checked against.

    python3 tests/reference/compare.py DUMPER

Reads every message of the corpus (CORPUS below, all inside the repository), asks DUMPER
for imapmail's fields and computes the reference's here, then prints per field how many
messages agree. Fails when a field agrees on fewer than FLOOR of the messages (those of
tests/broken, malformed on purpose, are compared but not counted there), when a
disagreement is not listed in tests/reference/disagreements.txt, or when a listed one no
longer happens (the list stays exact).

The reference's fields, and the comparison:
  subject     str(msg['subject']); whitespace runs are compared as one space.
  from        addr_spec of the first From address (Sender when there is no From).
  recipients  addr_specs of To and of Cc, in order.
  date        msg['date'].datetime as Unix seconds (naive = UTC); 0 when absent or invalid.
  message_id  the Message-ID without its angle brackets.
  text        msg.get_body(('plain',)).get_content(), "" when none.
  html        msg.get_body(('html',)).get_content(), "" when none.
              Texts are compared with CRLF as LF, trailing blanks of lines and of the text
              removed.
  attachments (file name, type, SHA-256 of the decoded bytes) of every part that is not a
              body: iter_attachments() of the message, and, recursively, of the multipart
              body candidates it skips (multipart/alternative and /related holding the
              bodies); a multipart yielded as an attachment counts as its leaf parts. A
              part that Python reaches by neither get_body nor iter_attachments (a message
              that is one part other than a body, the first text/plain of a multipart/mixed
              when get_body chose another one) is expected as an attachment too, since
              nothing may be lost; only the other text/* renderings of a
              multipart/alternative are meant to be left out. Order: the message's. The
              name is get_filename() or the Content-Type name; a message/rfc822 part without
              one is named after its subject + ".eml" (imapmail's convention); the bytes of
              message/* parts are not compared (Python parses them into messages and does
              not keep them). The parts get_body chose are never attachments.
  inline      Content-Disposition "inline" of each of those parts; without a
              Content-Disposition, a part with a Content-ID (a related image) is inline, as
              is a text part without a file name (RFC 2183 leaves the default to the
              reader; mail readers show both in the body).
"""

import email
import email.policy
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = [
    "tests/reference/corpus/cpython/msg_*.txt",
    "tests/reference/corpus/rfc/*.eml",
    "tests/data/imap-transcripts/servers/common/message.*.msg",
    "tests/corpus/*.eml",
    "tests/broken/*.eml",
]
# Messages stored with LF line ends that are CRLF messages (their README says so): given to
# both parsers with CRLF, as a server would.
AS_CRLF = ["tests/data/imap-transcripts/servers/common/message.*.msg"]
# Whole messages inside the recorded FETCH answers (BODY[] / RFC822 literals, CRLF line ends
# as the transcripts' README says), named "<transcript>#<n>".
TRANSCRIPTS = "tests/data/imap-transcripts/servers/*/*.txt"
DISAGREEMENTS = "tests/reference/disagreements.txt"
FIELDS = ["subject", "from", "recipients", "date", "message_id", "text", "html",
          "attachments", "inline"]
FLOOR = 0.97
# Deliberately malformed mail: compared and every disagreement listed, but not counted for
# the floor (several of its readings are fixed on purpose by tests/broken_mail.rs; there is
# no one right reading of broken mail).
MALFORMED = "tests/broken/"


def words(s):
    return " ".join(str(s).split())


def norm_text(s):
    lines = s.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(l.rstrip() for l in lines).strip()


def same(field, ref, got):
    """Agreement of one field. Where Python's text has U+FFFD (bytes it could not decode in
    the declared charset), any characters of imapmail's count; a NUL, which a C string
    cannot hold, is U+FFFD in imapmail's."""
    if field in ("subject", "text", "html") and isinstance(ref, str):
        ref = ref.replace("\0", "\ufffd")
        if "\ufffd" in ref:
            pieces = re.split("\ufffd+", ref)
            pattern = ".+?".join(re.escape(p) for p in pieces)
            return re.fullmatch(pattern, got, re.S) is not None
    return ref == got


def first_addr(msg, name):
    try:
        h = msg[name]
        if h is None or not getattr(h, "addresses", None):
            return None
        return h.addresses[0].addr_spec
    except Exception:
        return None


def addrs(msg, name):
    try:
        h = msg[name]
        if h is None:
            return []
        return [a.addr_spec for a in h.addresses]
    except Exception:
        return []


def timestamp(msg):
    try:
        h = msg["date"]
        dt = h.datetime if h is not None else None
    except Exception:
        return 0
    if dt is None:
        return 0
    if dt.tzinfo is None:
        import datetime
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp())


def content(part):
    if part is None:
        return ""
    try:
        c = part.get_content()
    except Exception:
        payload = part.get_payload(decode=True) or b""
        c = payload.decode("utf-8", "replace")
    return c if isinstance(c, str) else ""


def filename(part):
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if name is None:
        try:
            ct = part["content-type"]
            name = ct.params.get("name") if ct is not None else None
        except Exception:
            name = None
    return name or ""


def leaves(part):
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        out = []
        for sub in part.iter_parts():
            out += leaves(sub)
        return out
    return [part]


def attachment_parts(msg, bodies):
    """The leaf parts, in order, that iter_attachments() yields (recursively, see the module
    documentation), and those Python reaches by neither get_body nor iter_attachments."""
    reached = {id(p) for p in multipart_attachments(msg)} if msg.get_content_maintype() == "multipart" and msg.is_multipart() else set()
    out = []

    def walk(part, parent_alternative):
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            alternative = part.get_content_type() == "multipart/alternative"
            for sub in part.iter_parts():
                walk(sub, alternative)
            return
        if any(part is b for b in bodies):
            return
        if id(part) in reached:
            out.append(part)
            return
        # Not reached by Python's API. Another rendering of the body in a
        # multipart/alternative is meant to be left out; anything else would be lost, and
        # nothing may be: it is expected as an attachment.
        if parent_alternative and part.get_content_maintype() == "text" and not part.is_attachment():
            return
        out.append(part)

    walk(msg, False)
    return out


def multipart_attachments(part):
    yielded = list(part.iter_attachments())
    ids = {id(p) for p in yielded}
    out = []
    for sub in part.iter_parts():
        if id(sub) in ids:
            out += leaves(sub)
        elif sub.get_content_maintype() == "multipart" and sub.is_multipart():
            out += multipart_attachments(sub)
    return out


def attachment(part):
    ctype = part.get_content_type()
    name = filename(part)
    if part.get_content_maintype() == "message":
        if not name and ctype == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            subject = words(inner["subject"] or "") if inner is not None else ""
            name = (subject or "message") + ".eml"
        digest = "message"
    else:
        try:
            data = part.get_payload(decode=True) or b""
        except Exception:  # Python < 3.11 raises on damaged uuencode
            data = str(part.get_payload()).encode("utf-8", "surrogateescape")
        if part.get_content_maintype() == "text":
            data = b"\n".join(l.rstrip(b" \t\r") for l in data.split(b"\n"))
        digest = hashlib.sha256(data).hexdigest()
    disp = part.get_content_disposition()
    inline = disp == "inline" or (disp is None and (
        part["content-id"] is not None
        or (part.get_content_maintype() == "text" and not filename(part))))
    return [name, ctype, digest], inline


def reference(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sender = first_addr(msg, "from") or first_addr(msg, "sender") or ""
    text_part, html_part = msg.get_body(("plain",)), msg.get_body(("html",))
    atts = [attachment(p) for p in attachment_parts(msg, [text_part, html_part])]
    mid = msg["message-id"]
    return {
        "subject": words(msg["subject"] or ""),
        "from": sender,
        "recipients": [addrs(msg, "to"), addrs(msg, "cc")],
        "date": timestamp(msg),
        "message_id": words(str(mid).strip().lstrip("<").rstrip(">")) if mid is not None else "",
        "text": norm_text(content(text_part)),
        "html": norm_text(content(html_part)),
        "attachments": [a for a, _ in atts],
        "inline": [i for _, i in atts],
    }


def ours(d):
    atts = []
    for a in d["attachments"]:
        digest = ("message" if a["type"].startswith("message/")
                  else a["sha256_text"] if a["type"].startswith("text/") else a["sha256"])
        atts.append([a["name"], a["type"], digest])
    return {
        "subject": words(d["subject"]),
        "from": d["from"],
        "recipients": [d["to"], d["cc"]],
        "date": d["timestamp"],
        "message_id": words(d["message_id"]),
        "text": norm_text(d["text"]),
        "html": norm_text(d["html"]),
        "attachments": atts,
        "inline": [a["inline"] for a in d["attachments"]],
    }


def message_id(raw):
    m = re.search(rb"(?im)^message-id:[ \t]*(\S+)", raw)
    return m.group(1) if m else None


def transcript_messages():
    """The distinct whole messages of the recorded FETCH answers, by name."""
    found, seen = {}, set()
    # The messages of common/ (also in the corpus) recur in several answers: skip them.
    known = set()
    for path in glob.glob(AS_CRLF[0]):
        with open(path, "rb") as f:
            known.add(message_id(f.read()))
    for path in sorted(glob.glob(TRANSCRIPTS)):
        with open(path, "rb") as f:
            data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        n = 0
        for m in re.finditer(rb"(?:BODY\[\]|RFC822) \{(\d+)\}\r\n", data):
            size = int(m.group(1))
            body = data[m.end():m.end() + size]
            if len(body) != size or b":" not in body[:200]:
                continue
            key = message_id(body) or body
            if key in seen or key in known:
                continue
            seen.add(key)
            n += 1
            found[f"{path}#{n}"] = body
    if len(found) < 4:
        sys.exit(f"only {len(found)} messages found in {TRANSCRIPTS}")
    return found


def load_listed():
    listed = {}
    with open(os.path.join(ROOT, DISAGREEMENTS), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            parts = [p.strip() for p in line.split("|", 2)]
            if len(parts) != 3 or not parts[2] or parts[1] not in FIELDS:
                sys.exit(f"{DISAGREEMENTS}:{n}: want 'file | field | reason': {line}")
            listed[(parts[0], parts[1])] = parts[2]
    return listed


def short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 160 else s[:157] + "..."


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.version_info < (3, 11):
        # The list of disagreements is that of Python 3.11 to 3.13 (checked); 3.10 decodes
        # damaged uuencode differently.
        sys.exit(f"mime_reference: FAILED: needs Python >= 3.11, not {sys.version.split()[0]}")
    os.chdir(ROOT)
    files = []
    for pattern in CORPUS:
        found = sorted(glob.glob(pattern))
        if not found:
            sys.exit(f"no file matches {pattern}")
        files += found
    crlf = {f for pattern in AS_CRLF for f in glob.glob(pattern)}
    extracted = transcript_messages()
    files += sorted(extracted)
    tmp = tempfile.mkdtemp(prefix="mime-reference.")
    inputs = []
    for i, path in enumerate(files):
        if path in crlf or path in extracted:
            if path in extracted:
                data = extracted[path]
            else:
                with open(path, "rb") as f:
                    data = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
            copy = os.path.join(tmp, f"{i}.eml")
            with open(copy, "wb") as f:
                f.write(data)
            inputs.append(copy)
        else:
            inputs.append(path)
    try:
        out = subprocess.run([sys.argv[1]] + inputs, check=True, capture_output=True).stdout
        dumps = [json.loads(l) for l in out.decode("utf-8").splitlines() if l.strip()]
        if [d["file"] for d in dumps] != inputs:
            sys.exit("the dumper did not answer for every file, in order")
        raws = []
        for path in inputs:
            with open(path, "rb") as f:
                raws.append(f.read())
    finally:
        shutil.rmtree(tmp)
    listed = load_listed()
    agree = {f: 0 for f in FIELDS}
    found = {}
    for path, d, raw in zip(files, dumps, raws):
        ref = reference(raw)
        got = ours(d)
        for field in FIELDS:
            if same(field, ref[field], got[field]):
                agree[field] += 1
            else:
                found[(path, field)] = (ref[field], got[field])
    failed = False
    n = len(files)
    mail = [f for f in files if not f.startswith(MALFORMED)]
    m = len(mail)
    print(f"{n} messages; agreement with Python's email package (policy=default), all of them /"
          f" the {m} outside {MALFORMED} (floor {100 * FLOOR:.0f}%):")
    for field in FIELDS:
        share = agree[field] / n
        mail_agree = m - sum(1 for (f, fl) in found if fl == field and not f.startswith(MALFORMED))
        mail_share = mail_agree / m
        low = mail_share < FLOOR
        failed |= low
        print(f"  {field:12} {agree[field]:4}/{n} {100 * share:6.2f}%   {mail_agree:4}/{m} {100 * mail_share:6.2f}%"
              + ("  BELOW FLOOR" if low else ""))
    new = sorted(set(found) - set(listed))
    gone = sorted(set(listed) - set(found))
    for key in new:
        ref, got = found[key]
        print(f"UNLISTED disagreement {key[0]} | {key[1]}\n    python:   {short(ref)}\n    imapmail: {short(got)}")
    for key in gone:
        print(f"LISTED but agrees now (remove it from {DISAGREEMENTS}): {key[0]} | {key[1]}")
    print(f"{len(found)} disagreements, all listed with their reason" if not new else
          f"{len(new)} disagreements not listed in {DISAGREEMENTS}")
    if new or gone or failed:
        print("mime_reference: FAILED")
        sys.exit(1)
    print("mime_reference: ok")


if __name__ == "__main__":
    main()
