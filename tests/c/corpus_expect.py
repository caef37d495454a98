#!/usr/bin/env python3
"""Turns tests/corpus/expected.json into the simple text records api_test.c reads.

  corpus_expect.py EXPECTED_JSON             records on stdout (format: see api_test.c)
  corpus_expect.py --files EXPECTED_JSON     the corpus files, in mailbox (UID) order
  corpus_expect.py --subject FILE EXPECTED_JSON
                                             the decoded subject of one corpus file

Records are tab-separated; \\, TAB, CR and LF inside a value are written \\\\, \\t, \\r, \\n.
The messages come in file-name order, which is the order run.sh adds them to the mailbox.
"""
import json
import os
import sys


def esc(value):
    if value is None:
        value = ""
    value = str(value)
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\r", "\\r").replace("\n", "\\n")


def rec(*fields):
    print("\t".join(esc(f) for f in fields))


def display(addr):
    name, address = addr.get("name") or "", addr.get("address") or ""
    if name and address:
        return f"{name} <{address}>"
    return address or name


def records(expected):
    for file in sorted(expected):
        e = expected[file]
        rec("message", file)
        rec("subject", e.get("subject", ""))
        frm = e.get("from") or {}
        rec("sender_address", frm.get("address") or "")
        rec("sender_name", frm.get("name") or "")
        rec("sender", display(frm))
        if e.get("date") is not None:
            rec("date", e["date"])
        if e.get("message_id"):
            rec("message_id", e["message_id"])
            rec("header", "Message-ID", "<" + e["message_id"] + ">")
        for kind in ("to", "cc", "reply_to"):
            people = e.get(kind) or []
            rec("recipients", kind, len(people))
            for i, p in enumerate(people):
                rec(kind, i, p.get("address") or "", p.get("name") or "")
        if e.get("text_contains") is None:
            rec("text", "")
        else:
            rec("text_contains", e["text_contains"])
        if e.get("html_contains") is None:
            rec("html", "")
        else:
            rec("html_contains", e["html_contains"])
        atts = e.get("attachments") or []
        rec("attachments", len(atts))
        for i, a in enumerate(atts):
            rec("attachment", i, a.get("filename") or "", a.get("content_type") or "-", a["size"],
                a.get("sha256") or "-", "1" if a.get("inline") else "0")
            rec("attachment_content_id", i, a.get("content_id") or "")
        if not e.get("broken"):
            rec("decode_error", 0)


def main(argv):
    if len(argv) == 2 and not argv[1].startswith("--"):
        with open(argv[1], encoding="utf-8") as f:
            records(json.load(f))
    elif len(argv) == 3 and argv[1] == "--files":
        with open(argv[2], encoding="utf-8") as f:
            expected = json.load(f)
        base = os.path.dirname(os.path.abspath(argv[2]))
        for file in sorted(expected):
            print(os.path.join(base, file))
    elif len(argv) == 4 and argv[1] == "--subject":
        with open(argv[3], encoding="utf-8") as f:
            print(json.load(f)[argv[2]]["subject"])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
