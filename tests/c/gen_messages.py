#!/usr/bin/env python3
"""Writes the generated test messages of the C tests into OUT_DIR (see tests/c/run.sh).

  bulk/NNN.eml    200 small messages "Bulk message NNN" (NNN = 001..200); run.sh marks
                  message n seen when n % 4 == 0
  flags/N.eml     6 unread messages "Flag test N" for the \\Seen tests
  hostile.eml     one message whose attachments have hostile file names
  hostile.txt     the attachments of hostile.eml: "index<TAB>sha256<TAB>size" per line

Usage: gen_messages.py OUT_DIR
"""
import base64
import hashlib
import os
import sys


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def bulk(n):
    return crlf(
        f"""From: Bulk Sender <bulk@example.com>
To: Bulk Reader <reader@example.com>
Subject: Bulk message {n:03d}
Date: Mon, 01 Jan 2024 {n // 60:02d}:{n % 60:02d}:00 +0000
Message-ID: <bulk-{n:03d}@imapmail.test>
X-Bulk-Number: {n}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

This is bulk message {n:03d}.
"""
    )


def flag(n):
    return crlf(
        f"""From: Flag Sender <flags@example.com>
To: Flag Reader <reader@example.com>
Subject: Flag test {n}
Date: Tue, 02 Jan 2024 10:0{n}:00 +0000
Message-ID: <flag-{n}@imapmail.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Flag test body {n}.
"""
    )


# (Content-Disposition / Content-Type parameters, data). Every data is distinct.
HOSTILE = [
    ('attachment; filename="../../../imapmail-evil-1.txt"', b"evil 1: parent directories\n"),
    ('attachment; filename="/tmp/imapmail-evil-abs.txt"', b"evil 2: absolute path\n"),
    ('attachment; filename="..\\\\..\\\\..\\\\imapmail-evil-3.txt"', b"evil 3: backslashes\n"),
    ('attachment; filename=".."', b"evil 4: dot dot\n"),
    ("attachment; filename*=utf-8''..%2F..%2F..%2Fimapmail-evil-5%0A%0D.txt", b"evil 5: RFC 2231 slashes and CR LF\n"),
    ('attachment; filename="CON"', b"evil 6: reserved Windows name\n"),
    ("attachment", b"evil 7: no name at all\n"),
    ('attachment; filename="dup.txt"', b"evil 8: first dup\n"),
    ('attachment; filename="dup.txt"', b"evil 9: second dup\n"),
    ('attachment; filename="symlink.txt"', b"evil 10: through a symlink\n"),
    ('attachment; filename=".hidden"', b"evil 11: hidden\n"),
    ('attachment; filename="' + "A" * 300 + '.txt"', b"evil 12: very long name\n"),
    ('attachment; filename="=?UTF-8?B?' + base64.b64encode(b"../../../imapmail-evil-13.txt").decode() + '?="',
     b"evil 13: RFC 2047 encoded slashes\n"),
    ('attachment; filename="a\x01b\x7f.txt"', b"evil 14: control characters\n"),
]


def hostile():
    boundary = "hostile-boundary-42"
    parts = [
        "From: Mallory <mallory@example.com>\n"
        "To: Victim <victim@example.com>\n"
        "Subject: Hostile attachment names\n"
        "Date: Wed, 03 Jan 2024 12:00:00 +0000\n"
        "Message-ID: <hostile@imapmail.test>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n'
        "\n"
        f"--{boundary}\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Attachments with names that try to escape the directory.\n"
    ]
    for disposition, data in HOSTILE:
        parts.append(
            f"--{boundary}\n"
            "Content-Type: application/octet-stream\n"
            "Content-Transfer-Encoding: base64\n"
            f"Content-Disposition: {disposition}\n"
            "\n" + base64.b64encode(data).decode() + "\n"
        )
    parts.append(f"--{boundary}--\n")
    return crlf("".join(parts))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "bulk"), exist_ok=True)
    os.makedirs(os.path.join(out, "flags"), exist_ok=True)
    for n in range(1, 201):
        with open(os.path.join(out, "bulk", f"{n:03d}.eml"), "wb") as f:
            f.write(bulk(n))
    for n in range(1, 7):
        with open(os.path.join(out, "flags", f"{n}.eml"), "wb") as f:
            f.write(flag(n))
    with open(os.path.join(out, "hostile.eml"), "wb") as f:
        f.write(hostile())
    with open(os.path.join(out, "hostile.txt"), "w") as f:
        for i, (_, data) in enumerate(HOSTILE):
            f.write(f"{i}\t{hashlib.sha256(data).hexdigest()}\t{len(data)}\n")


if __name__ == "__main__":
    main()
