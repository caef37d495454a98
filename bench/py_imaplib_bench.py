#!/usr/bin/env python3
"""The Python point of comparison of the imapmail benchmark: imaplib + the email package.

    py_imaplib_bench.py HOST PORT USER full|headers

full     UID SEARCH ALL, then UID FETCH (UID FLAGS RFC822.SIZE BODY.PEEK[]) in batches of
         200 messages; each message is parsed with email.policy.default and its subject,
         sender, date, text body, HTML body and every attachment's content are touched.
headers  one UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER]); subject, sender and
         date of each header block are decoded (flags and size come with the FETCH).

The password is read from IMAPMAIL_PASSWORD. Prints "messages=N checksum=C".
"""

import email
import email.parser
import email.policy
import imaplib
import os
import sys

BATCH = 200


def touch_full(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    n = len(str(msg["subject"] or "")) + len(str(msg["from"] or "")) + len(str(msg["date"] or ""))
    for kind in ("plain", "html"):
        part = msg.get_body(preferencelist=(kind,))
        if part is not None:
            try:
                n += len(part.get_content())
            except (LookupError, ValueError):  # unknown charset and such
                n += len(part.get_payload(decode=True) or b"")
    for att in msg.iter_attachments():
        try:
            content = att.get_content()
        except (LookupError, ValueError):
            content = att.get_payload(decode=True) or b""
        if isinstance(content, (bytes, str)):
            n += len(content)
        else:  # message/rfc822: a Message
            n += len(content.as_bytes())
    return n


def main():
    if len(sys.argv) != 5 or sys.argv[4] not in ("full", "headers"):
        sys.stderr.write(__doc__)
        return 2
    host, port, user, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    password = os.environ["IMAPMAIL_PASSWORD"]
    imap = imaplib.IMAP4(host, port)
    imap.login(user, password)
    typ, _ = imap.select("INBOX", readonly=True)
    if typ != "OK":
        raise SystemExit("SELECT failed")
    count = checksum = 0
    if mode == "headers":
        typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])")
        if typ != "OK":
            raise SystemExit("UID FETCH failed")
        parser = email.parser.BytesHeaderParser(policy=email.policy.default)
        for item in data:
            if isinstance(item, tuple):
                h = parser.parsebytes(item[1])
                checksum += len(str(h["subject"] or "")) + len(str(h["from"] or "")) + \
                    len(str(h["date"] or "")) + len(item[0])
                count += 1
    else:
        typ, data = imap.uid("SEARCH", None, "ALL")
        if typ != "OK":
            raise SystemExit("UID SEARCH failed")
        uids = data[0].split()
        for i in range(0, len(uids), BATCH):
            batch = b",".join(uids[i:i + BATCH]).decode()
            typ, data = imap.uid("FETCH", batch, "(UID FLAGS RFC822.SIZE BODY.PEEK[])")
            if typ != "OK":
                raise SystemExit("UID FETCH failed")
            for item in data:
                if isinstance(item, tuple):
                    checksum += touch_full(item[1])
                    count += 1
    imap.logout()
    print("messages=%d checksum=%d" % (count, checksum))
    return 0


if __name__ == "__main__":
    sys.exit(main())
