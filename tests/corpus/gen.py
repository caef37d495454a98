#!/usr/bin/env python3
"""Generate the imapmail MIME test corpus (tests/corpus/*.eml + expected.json).

Deterministic, standard library only:  python3 tests/corpus/gen.py
Every run rewrites the same bytes; the script then re-parses each file with
Python's own email package and checks it against expected.json.

All messages use CRLF line endings and are well under 100 KB. All names,
addresses and domains are made up (example.com/org/net, *.test).

expected.json is an object keyed by file name. Each value:
  description   what the message exercises
  subject       decoded subject (UTF-8), "" if the header is absent
  from          {"name": str or null, "address": str}
  to, cc, reply_to   lists of {"name": str or null, "address": str}
  date          the Date header as written
  message_id    Message-ID without the angle brackets
  text_contains a substring of the decoded (UTF-8) text/plain body, or null
                when the message has no text/plain body
  html_contains a substring of the decoded text/html body, or null
  text_charset  charset declared for the text body (lower case), or null
  attachments   every leaf part that is not the message's text or html body,
                depth-first in file order, not descending into message/rfc822:
                  filename      decoded file name (RFC 2231 / RFC 2047 /
                                Content-Type name=), raw: hostile names are
                                given as written, not sanitised; or null
                  content_type  lower-case type/subtype, without parameters
                  content_id    Content-ID without angle brackets, or null
                  inline        true when Content-Disposition is inline
                  size, sha256  of the decoded bytes (base64 undone; for
                                message/rfc822 the embedded message's bytes
                                exactly as in the file, CRLF included, up to
                                but not including the CRLF before the
                                boundary)
  forwarded     (only with a message/rfc822 part) the embedded message's
                subject, from, text_contains and attachments
  broken        true for deliberately malformed MIME (parse leniently)
"""

import base64
import datetime
import hashlib
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CRLF = b"\r\n"

# ---------------------------------------------------------------------------
# encoding helpers


def qp_word_byte_ok(b):
    return (0x30 <= b <= 0x39) or (0x41 <= b <= 0x5A) or (0x61 <= b <= 0x7A)


def encoded_words(text, charset, enc="B", pyenc=None):
    """RFC 2047 encoded-words for `text`, each <= 75 chars, never splitting a
    character (each word is independently decodable, as RFC 2047 requires;
    ISO-2022-JP words each end back in ASCII)."""
    pyenc = pyenc or charset
    words, chunk = [], ""

    def render(s):
        raw = s.encode(pyenc)
        if enc == "B":
            payload = base64.b64encode(raw).decode("ascii")
        else:
            out = []
            for b in raw:
                if b == 0x20:
                    out.append("_")
                elif qp_word_byte_ok(b):
                    out.append(chr(b))
                else:
                    out.append("=%02X" % b)
            payload = "".join(out)
        return "=?%s?%s?%s?=" % (charset, enc, payload)

    for ch in text:
        if chunk and len(render(chunk + ch)) > 75:
            words.append(render(chunk))
            chunk = ""
        chunk += ch
    if chunk:
        words.append(render(chunk))
    return words


def fold(name, tokens):
    """Header line `name: tok tok ...` folded (CRLF SP) before 78 columns."""
    lines, cur = [], name + ":"
    for tok in tokens:
        if len(cur) + 1 + len(tok) > 78 and cur != name + ":":
            lines.append(cur)
            cur = " " + tok
        else:
            cur += " " + tok
    lines.append(cur)
    return "\r\n".join(lines)


def b64_lines(data):
    s = base64.b64encode(data).decode("ascii")
    return "\r\n".join(s[i : i + 76] for i in range(0, len(s), 76)).encode("ascii") + CRLF


def qp_encode(data):
    """Quoted-printable (RFC 2045) of bytes whose line breaks are CRLF;
    soft line breaks keep lines <= 76."""
    out_lines = []
    for line in data.split(b"\r\n"):
        toks = []
        for i, b in enumerate(line):
            last = i == len(line) - 1
            if (33 <= b <= 126 and b != 0x3D) or (b in (0x20, 0x09) and not last):
                toks.append(chr(b))
            else:
                toks.append("=%02X" % b)
        cur = ""
        for t in toks:
            if len(cur) + len(t) > 75:
                out_lines.append(cur + "=")
                cur = ""
            cur += t
        out_lines.append(cur)
    return "\r\n".join(out_lines).encode("ascii")


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def pct(s):
    """RFC 2231 percent encoding of UTF-8 (attribute-char kept)."""
    keep = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~")
    return "".join(chr(b) if b in keep else "%%%02X" % b for b in s.encode("utf-8"))


def addr_header(name, address, charset="UTF-8", enc="Q"):
    """One mailbox for From/To/Cc: encoded-word phrase when non-ASCII,
    quoted string when it has specials, bare address when name is None."""
    if name is None:
        return address
    if any(ord(c) > 126 for c in name):
        return " ".join(encoded_words(name, charset, enc)) + " <%s>" % address
    if any(c in name for c in '()<>[]:;@\\,."'):
        return '"%s" <%s>' % (name.replace("\\", "\\\\").replace('"', '\\"'), address)
    return "%s <%s>" % (name, address)


def rfc_date(y, mo, d, h, mi, s=0, tz="+0000"):
    wd = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[datetime.date(y, mo, d).weekday()]
    mon = ("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec").split()[mo - 1]
    return "%s, %02d %s %04d %02d:%02d:%02d %s" % (wd, d, mon, y, h, mi, s, tz)


def mbox(name, address):
    return {"name": name, "address": address}


# ---------------------------------------------------------------------------
# binary blobs


def png_gradient(w=24, h=16):
    """A real, tiny PNG (RGB gradient)."""

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b""
    for y in range(h):
        raw += b"\x00" + b"".join(bytes(((x * 255) // (w - 1), (y * 255) // (h - 1), 128)) for x in range(w))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def tiny_pdf(text):
    """A minimal one-page PDF with a correct xref table."""
    stream = ("BT /F1 18 Tf 40 100 Td (%s) Tj ET" % text).encode("latin-1")
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


PNG = png_gradient()
PNG_SMALL = png_gradient(8, 8)
PDF = tiny_pdf("imapmail test document")
PDF2 = tiny_pdf("Quarterly report Q1")

# ---------------------------------------------------------------------------
# message building


class Part:
    """A MIME entity: headers (list of preformatted lines) + body bytes."""

    def __init__(self, headers, body):
        self.headers = headers
        self.body = body

    def bytes(self):
        return "\r\n".join(self.headers).encode("ascii") + CRLF + CRLF + self.body


def multipart(subtype, boundary, parts, extra_headers=(), close=True, preamble=None):
    body = b""
    if preamble:
        body += preamble.encode("ascii") + CRLF
    for p in parts:
        body += b"--" + boundary.encode("ascii") + CRLF + p.bytes() + CRLF
    if close:
        body += b"--" + boundary.encode("ascii") + b"--" + CRLF
    hdrs = list(extra_headers) + ['Content-Type: multipart/%s;\r\n boundary="%s"' % (subtype, boundary)]
    return Part(hdrs, body)


def text_part(text, charset="utf-8", cte="quoted-printable", subtype="plain", pyenc=None):
    data = crlf(text).encode(pyenc or charset)
    if cte == "quoted-printable":
        body = qp_encode(data)
        body += b"" if body.endswith(CRLF) else CRLF
    elif cte == "base64":
        body = b64_lines(data)
    else:  # 7bit / 8bit
        body = data + (b"" if data.endswith(CRLF) else CRLF)
    return Part(
        ["Content-Type: text/%s; charset=%s" % (subtype, charset), "Content-Transfer-Encoding: %s" % cte],
        body,
    )


def attachment(data, ctype, disposition_params, ctype_params="", disposition="attachment", cid=None):
    hdrs = ["Content-Type: %s%s" % (ctype, ctype_params)]
    if disposition is not None:
        hdrs.append("Content-Disposition: %s%s" % (disposition, disposition_params))
    if cid:
        hdrs.append("Content-ID: <%s>" % cid)
    hdrs.append("Content-Transfer-Encoding: base64")
    return Part(hdrs, b64_lines(data))


def att_expect(data, filename, ctype, inline=False, cid=None):
    return {
        "filename": filename,
        "content_type": ctype,
        "content_id": cid,
        "inline": inline,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def message(top_headers, part):
    """Top-level headers + the MIME entity (its headers become top-level)."""
    return ("\r\n".join(top_headers + part.headers)).encode("ascii") + CRLF + CRLF + part.body


def std_headers(n, subject_line, from_h, to_h, date, extra=(), mime=True):
    h = [
        "Return-Path: <bounces@example.com>",
        "Received: from mx.example.com (mx.example.com [192.0.2.25])\r\n"
        "\tby imap.example.org with ESMTPS id corpus%02d\r\n\tfor <inbox@example.org>; %s" % (n, date),
        "Date: %s" % date,
        from_h,
        to_h,
    ]
    h += list(extra)
    h.append(subject_line)
    h.append("Message-ID: <corpus-%02d@imapmail.test>" % n)
    if mime:
        h.append("MIME-Version: 1.0")
    return h


CORPUS = {}  # file name -> bytes
EXPECTED = {}  # file name -> dict


def add(name, data, exp):
    assert len(data) < 100 * 1024, name
    CORPUS[name] = data
    EXPECTED[name] = exp


def base_expect(n, description, subject, frm, to, date, text=None, html=None, charset=None, cc=(), reply_to=()):
    return {
        "description": description,
        "subject": subject,
        "from": frm,
        "to": list(to),
        "cc": list(cc),
        "reply_to": list(reply_to),
        "date": date,
        "message_id": "corpus-%02d@imapmail.test" % n,
        "text_contains": text,
        "html_contains": html,
        "text_charset": charset,
        "attachments": [],
    }


ALICE = ("Alice Example", "alice@example.com")
BOB = ("Bob Tester", "bob@example.org")


def from_to(frm=ALICE, to=BOB, **kw):
    return "From: " + addr_header(*frm, **kw), "To: " + addr_header(*to)


# ---------------------------------------------------------------------------
# 01-02: plain text


def gen_plain():
    date = "Mon, 04 Mar 2024 09:15:00 +0100"
    body = (
        "Hi Bob,\n\nthis is a plain US-ASCII message without any MIME structure\n"
        "beyond a single text/plain part. The meeting is at 10:30 in room 4.\n\n"
        "Regards,\nAlice\n"
    )
    hdrs = std_headers(1, "Subject: Plain ASCII message", "From: alice@example.com", "To: " + addr_header(*BOB), date)
    part = text_part(body, "us-ascii", "7bit")
    exp = base_expect(
        1, "plain US-ASCII text, bare From address (no display name)", "Plain ASCII message",
        mbox(None, "alice@example.com"), [mbox(*BOB)], date,
        text="The meeting is at 10:30 in room 4.", charset="us-ascii",
    )
    add("01-plain-ascii.eml", message(hdrs, part), exp)

    date = "Mon, 04 Mar 2024 11:02:41 +0100"
    long_line = (
        "Diese Zeile ist absichtlich sehr lang, damit die Quoted-Printable-Kodierung "
        "weiche Zeilenumbrüche einfügen muss – und genau über diese Grenze hinweg "
        "soll der erwartete Text gefunden werden: Grüße aus Köln, Jürgen."
    )
    body = "Hallo Bob,\n\n" + long_line + "\nEmoji: 😀 ✓ — “Anführungszeichen”\nÄÖÜ äöü ß €\n"
    from_h, to_h = from_to(("Jürgen Groß", "juergen@example.de"))
    hdrs = std_headers(2, "Subject: " + " ".join(encoded_words("Grüße – UTF-8 Text", "UTF-8", "Q")), from_h, to_h, date)
    part = text_part(body, "utf-8", "quoted-printable")
    exp = base_expect(
        2, "UTF-8 text/plain, quoted-printable with soft line breaks, emoji", "Grüße – UTF-8 Text",
        mbox("Jürgen Groß", "juergen@example.de"), [mbox(*BOB)], date,
        text="weiche Zeilenumbrüche einfügen muss – und genau über diese Grenze hinweg soll", charset="utf-8",
    )
    add("02-plain-utf8-qp.eml", message(hdrs, part), exp)


# ---------------------------------------------------------------------------
# 03-13: RFC 2047 subjects in many charsets (body in the same charset)

SUBJECTS = [
    # file, charset label, python codec, enc, prefix, subject text, body text, body cte, sender
    ("03-subject-utf8-b.eml", "UTF-8", "utf-8", "B", "",
     "Réunion 📅 — 会議 update: naïve café, ½ price", "Bonjour, la réunion est déplacée 📅 au 会議室 B.",
     "base64", ("Zoë Ångström", "zoe@example.se")),
    ("04-subject-utf8-q.eml", "UTF-8", "utf-8", "Q", "Re: ",
     "Grüße aus München – Größe ändern?", "Die Größe der Datei ändern wir morgen. Grüße aus München!",
     "quoted-printable", ("Jürgen Groß", "juergen@example.de")),
    ("05-subject-iso-8859-1.eml", "ISO-8859-1", "iso-8859-1", "Q", "",
     "Café crème à la française, déjà vu", "Le café crème est prêt. À bientôt, Hélène.",
     "quoted-printable", ("Hélène Lefèvre", "helene@example.fr")),
    ("06-subject-iso-8859-15.eml", "ISO-8859-15", "iso-8859-15", "Q", "",
     "Prix : 100 € pour l'œuvre", "L'œuvre coûte 100 € (cent euros), Œdipe compris.",
     "quoted-printable", ("Œdipe Roi", "oedipe@example.fr")),
    ("07-subject-windows-1252.eml", "windows-1252", "cp1252", "Q", "Fwd: ",
     "“Smart quotes” – price €5 … ‘done’", "He said “hello” – it costs €5… ‘really’ • ™",
     "quoted-printable", ("Seán O’Connor", "sean@example.ie")),
    ("08-subject-windows-1251.eml", "windows-1251", "cp1251", "B", "",
     "Привет, мир! Отчёт за квартал", "Здравствуйте! Отчёт за третий квартал во вложении нет.",
     "base64", ("Иван Петров", "ivan@example.ru")),
    ("09-subject-koi8-r.eml", "KOI8-R", "koi8-r", "B", "",
     "Съешь же ещё этих мягких французских булок", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
     "8bit", ("Наталья Смирнова", "natalia@example.ru")),
    ("10-subject-shift_jis.eml", "Shift_JIS", "shift_jis", "B", "",
     "会議のお知らせ：来週の予定", "来週の会議は水曜日の午後三時からです。よろしくお願いします。",
     "base64", ("山田太郎", "yamada@example.jp")),
    ("11-subject-gb2312.eml", "GB2312", "gb2312", "B", "",
     "关于下周会议的通知", "下周三下午三点开会，请准时参加。谢谢！",
     "base64", ("王小明", "wang@example.cn")),
    ("12-subject-big5.eml", "Big5", "big5", "B", "",
     "關於下週會議的通知", "下週三下午三點開會，請準時參加。謝謝！",
     "base64", ("陳大文", "chan@example.tw")),
    ("13-subject-iso-2022-jp.eml", "ISO-2022-JP", "iso2022_jp", "B", "",
     "【重要】システムメンテナンスのお知らせ", "明日の午前二時から四時まで、システムメンテナンスを実施します。",
     "7bit", ("佐藤花子", "sato@example.jp")),
]


def gen_subjects():
    for i, (fname, cs, codec, enc, prefix, subj, body, cte, sender) in enumerate(SUBJECTS):
        n = 3 + i
        date = rfc_date(2024, 3, 5 + i, 8 + i, 7 * i % 60)
        words = encoded_words(subj, cs, enc, codec)
        subject_line = fold("Subject", ([prefix.strip()] if prefix else []) + words)
        from_h = "From: " + " ".join(encoded_words(sender[0], cs, enc, codec)) + " <%s>" % sender[1]
        to_h = "To: " + addr_header(*BOB)
        hdrs = std_headers(n, subject_line, from_h, to_h, date)
        part = text_part(body + "\n", cs, cte, pyenc=codec)
        exp = base_expect(
            n, "RFC 2047 %s-encoded subject and sender name in %s, text body in %s (%s)" % (enc, cs, cs, cte),
            prefix + subj, mbox(*sender), [mbox(*BOB)], date, text=body, charset=cs.lower(),
        )
        add(fname, message(hdrs, part), exp)


# ---------------------------------------------------------------------------
# 20-26: structure


def gen_structures():
    # 20 multipart/alternative
    date = "Wed, 13 Mar 2024 14:00:00 -0500"
    from_h, to_h = from_to()
    text = "Your order #1234 has shipped.\nTrack it at https://example.com/t/1234\n"
    html = (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Order</title></head>\n"
        "<body><p>Your order <b>#1234</b> has shipped – <a href=\"https://example.com/t/1234\">track it</a>.</p>\n"
        "</body></html>\n"
    )
    alt = multipart("alternative", "=_alt_20_boundary", [text_part(text, "utf-8", "7bit"), text_part(html, "utf-8", "quoted-printable", "html")])
    hdrs = std_headers(20, "Subject: Your order #1234 has shipped", from_h, to_h, date)
    exp = base_expect(20, "multipart/alternative: text/plain + text/html", "Your order #1234 has shipped",
                      mbox(*ALICE), [mbox(*BOB)], date, text="Your order #1234 has shipped.",
                      html="has shipped – <a href=\"https://example.com/t/1234\">track it</a>", charset="utf-8")
    add("20-alternative.eml", message(hdrs, alt), exp)

    # 21 mixed: text + png + pdf
    date = "Thu, 14 Mar 2024 08:30:00 +0100"
    mixed = multipart("mixed", "----=_Part_21_mixed", [
        text_part("Hi Bob,\n\nplease find the chart and the document attached.\n\nAlice\n", "us-ascii", "7bit"),
        attachment(PNG, "image/png", '; filename="chart.png"', '; name="chart.png"'),
        attachment(PDF, "application/pdf", '; filename="document.pdf"', '; name="document.pdf"'),
    ])
    hdrs = std_headers(21, "Subject: Chart and document", from_h, to_h, date)
    exp = base_expect(21, "multipart/mixed: text + PNG + PDF attachments (base64)", "Chart and document",
                      mbox(*ALICE), [mbox(*BOB)], date, text="please find the chart and the document attached.",
                      charset="us-ascii")
    exp["attachments"] = [att_expect(PNG, "chart.png", "image/png"), att_expect(PDF, "document.pdf", "application/pdf")]
    add("21-mixed-attachments.eml", message(hdrs, mixed), exp)

    # 22 RFC 2231 names
    date = "Fri, 15 Mar 2024 16:45:00 +0100"
    name1 = "Résumé – Jürgen Groß.pdf"
    p1 = "Très long nom de fichier "
    p2 = "— deuxième partie "
    p3 = "final part.txt"
    name2 = p1 + p2 + p3
    data2 = crlf("Ligne 1\nLigne 2 – fin\n").encode("utf-8")
    mixed = multipart("mixed", "b22_rfc2231", [
        text_part("Two attachments with RFC 2231 encoded names.\n", "us-ascii", "7bit"),
        attachment(PDF2, "application/pdf", ";\r\n filename*=UTF-8''%s" % pct(name1)),
        attachment(data2, "text/plain", ";\r\n filename*0*=UTF-8''%s;\r\n filename*1*=%s;\r\n filename*2=\"%s\"" % (pct(p1), pct(p2), p3),
                   "; charset=utf-8"),
    ])
    hdrs = std_headers(22, "Subject: RFC 2231 file names", from_h, to_h, date)
    exp = base_expect(22, "attachments named with RFC 2231: filename*=UTF-8''... and continuations "
                      "filename*0*= / filename*1*= (encoded) / filename*2= (plain, quoted)",
                      "RFC 2231 file names", mbox(*ALICE), [mbox(*BOB)], date,
                      text="Two attachments with RFC 2231 encoded names.", charset="us-ascii")
    exp["attachments"] = [att_expect(PDF2, name1, "application/pdf"), att_expect(data2, name2, "text/plain")]
    add("22-rfc2231-names.eml", message(hdrs, mixed), exp)

    # 23 name only in Content-Type
    date = "Sat, 16 Mar 2024 10:10:10 +0000"
    csv1 = crlf("month,amount\njan,100\nfeb,120\n").encode("ascii")
    csv2 = crlf("saison;montant\nété;300\n").encode("utf-8")
    mixed = multipart("mixed", "b23_ctype_name", [
        text_part("The budget files, named only via Content-Type name=.\n", "us-ascii", "7bit"),
        attachment(csv1, "text/csv", "", '; name="budget 2024.csv"', disposition=None),
        attachment(csv2, "application/octet-stream", "",
                   '; name="%s"' % " ".join(encoded_words("Budget été 2024.csv", "UTF-8", "Q")), disposition=None),
    ])
    hdrs = std_headers(23, "Subject: Budget files", from_h, to_h, date)
    exp = base_expect(23, "attachments without Content-Disposition, named only by Content-Type name=; the "
                      "second name is an RFC 2047 encoded-word inside the quoted parameter (Outlook style)",
                      "Budget files", mbox(*ALICE), [mbox(*BOB)], date,
                      text="named only via Content-Type name=.", charset="us-ascii")
    exp["attachments"] = [att_expect(csv1, "budget 2024.csv", "text/csv"),
                          att_expect(csv2, "Budget été 2024.csv", "application/octet-stream")]
    add("23-ctype-name-only.eml", message(hdrs, mixed), exp)

    # 24 multipart/related with inline image
    date = "Sun, 17 Mar 2024 19:00:00 +0100"
    cid = "logo.a1b2c3@imapmail.test"
    html = ("<html><body><h1>Newsletter</h1><p>Spring news inside.</p>\n"
            "<img src=\"cid:%s\" alt=\"logo\" width=\"24\" height=\"16\"></body></html>\n" % cid)
    rel = multipart("related", "b24_related", [
        text_part(html, "utf-8", "quoted-printable", "html"),
        attachment(PNG, "image/png", '; filename="logo.png"', '; name="logo.png"', disposition="inline", cid=cid),
    ])
    rel.headers[-1] = 'Content-Type: multipart/related; type="text/html";\r\n boundary="b24_related"'
    hdrs = std_headers(24, "Subject: Newsletter with inline logo", from_h, to_h, date)
    exp = base_expect(24, "multipart/related: HTML body + inline image referenced by cid:, no text/plain",
                      "Newsletter with inline logo", mbox(*ALICE), [mbox(*BOB)], date,
                      html='<img src="cid:%s"' % cid)
    exp["attachments"] = [att_expect(PNG, "logo.png", "image/png", inline=True, cid=cid)]
    add("24-related-inline-image.eml", message(hdrs, rel), exp)

    # 25 nested: mixed(alternative(text, related(html, image)), attachment)
    date = "Mon, 18 Mar 2024 07:59:59 +0900"
    cid = "chart.77@imapmail.test"
    text = "Quarterly summary: revenue up 12 %.\nSee the chart in the HTML version.\n"
    html = ("<html><body><p>Quarterly summary: revenue <b>up 12&nbsp;%%</b>.</p>"
            "<img src=\"cid:%s\"></body></html>\n" % cid)
    rel = multipart("related", "b25_rel", [
        text_part(html, "utf-8", "quoted-printable", "html"),
        attachment(PNG_SMALL, "image/png", '; filename="chart.png"', disposition="inline", cid=cid),
    ])
    alt = multipart("alternative", "b25_alt", [text_part(text, "utf-8", "quoted-printable"), rel])
    mixed = multipart("mixed", "b25_mixed", [
        alt, attachment(PDF2, "application/pdf", '; filename="report-q1.pdf"', '; name="report-q1.pdf"')])
    hdrs = std_headers(25, "Subject: Q1 report", from_h, to_h, date,
                       extra=["Cc: " + addr_header("Carol Manager", "carol@example.net")])
    exp = base_expect(25, "nested: mixed( alternative( text, related( html, inline image ) ), PDF attachment )",
                      "Q1 report", mbox(*ALICE), [mbox(*BOB)], date, text="Quarterly summary: revenue up 12 %.",
                      html="revenue <b>up 12&nbsp;%</b>", charset="utf-8",
                      cc=[mbox("Carol Manager", "carol@example.net")])
    exp["attachments"] = [att_expect(PNG_SMALL, "chart.png", "image/png", inline=True, cid=cid),
                          att_expect(PDF2, "report-q1.pdf", "application/pdf")]
    add("25-nested.eml", message(hdrs, mixed), exp)

    # 26 forwarded message/rfc822
    date = "Tue, 19 Mar 2024 12:00:00 +0000"
    inner_date = "Mon, 18 Mar 2024 17:20:00 +0100"
    inner_csv = crlf("id,name\n1,Widget\n2,Gadget\n").encode("ascii")
    inner_subject = "Zahlen für das Quartal"
    inner = message(
        ["Date: " + inner_date,
         "From: " + addr_header("Dörte Kühn", "doerte@example.de"),
         "To: " + addr_header(*ALICE),
         "Subject: " + " ".join(encoded_words(inner_subject, "UTF-8", "Q")),
         "Message-ID: <inner-26@imapmail.test>",
         "MIME-Version: 1.0"],
        multipart("mixed", "b26_inner", [
            text_part("Anbei die Zahlen für das Quartal.\n", "utf-8", "quoted-printable"),
            attachment(inner_csv, "text/csv", '; filename="numbers.csv"'),
        ]),
    )
    fwd = Part(["Content-Type: message/rfc822", 'Content-Disposition: attachment; filename="Zahlen.eml"'], inner)
    mixed = multipart("mixed", "b26_outer", [
        text_part("FYI, forwarding Dörte's mail below.\n", "utf-8", "quoted-printable"), fwd])
    hdrs = std_headers(26, "Subject: Fwd: " + " ".join(encoded_words(inner_subject, "UTF-8", "Q")),
                       from_h, to_h, date)
    exp = base_expect(26, "forwarded mail as a message/rfc822 attachment (which has its own attachment)",
                      "Fwd: " + inner_subject, mbox(*ALICE), [mbox(*BOB)], date,
                      text="forwarding Dörte's mail below.", charset="utf-8")
    exp["attachments"] = [att_expect(inner, "Zahlen.eml", "message/rfc822")]
    exp["forwarded"] = {
        "subject": inner_subject,
        "from": mbox("Dörte Kühn", "doerte@example.de"),
        "text_contains": "Anbei die Zahlen für das Quartal.",
        "attachments": [att_expect(inner_csv, "numbers.csv", "text/csv")],
    }
    add("26-forwarded-rfc822.eml", message(hdrs, mixed), exp)


# ---------------------------------------------------------------------------
# 27-29: body charsets


def gen_body_charsets():
    cases = [
        ("27-body-iso-8859-1.eml", "iso-8859-1", "iso-8859-1", "8bit",
         "Sehr geehrte Damen und Herren,\n\nanbei die Unterlagen für Ihre Prüfung.\n"
         "Straße, Größe, Übermaß; «Zitat» ¡olé! 1½ × 3 ° ©\nMit freundlichen Grüßen\n",
         "anbei die Unterlagen für Ihre Prüfung.", ("Björn Müller", "bjoern@example.de")),
        ("28-body-windows-1252.eml", "windows-1252", "cp1252", "quoted-printable",
         "Dear team,\n\n“Quarterly” results – €1,250 … see ‘notes’ • done ™\n\nBest,\nSeán\n",
         "“Quarterly” results – €1,250 … see ‘notes’ • done ™", ("Seán O’Connor", "sean@example.ie")),
        ("29-body-koi8-r.eml", "koi8-r", "koi8-r", "8bit",
         "Добрый день!\n\nВстреча переносится на пятницу, 15:00.\nС уважением,\nНаталья\n",
         "Встреча переносится на пятницу, 15:00.", ("Наталья Смирнова", "natalia@example.ru")),
    ]
    for i, (fname, cs, codec, cte, body, needle, sender) in enumerate(cases):
        n = 27 + i
        date = "Wed, 20 Mar 2024 %02d:00:00 +0200" % (9 + i)
        subj = "Body charset %s" % cs
        from_h = "From: " + addr_header(*sender)
        hdrs = std_headers(n, "Subject: " + subj, from_h, "To: " + addr_header(*BOB), date)
        part = text_part(body, cs, cte, pyenc=codec)
        exp = base_expect(n, "text/plain body in %s (%s): needs charset conversion" % (cs, cte), subj,
                          mbox(*sender), [mbox(*BOB)], date, text=needle, charset=cs)
        add(fname, message(hdrs, part), exp)


# ---------------------------------------------------------------------------
# 30-33: addresses, missing Content-Type, broken MIME, hostile names


def gen_misc():
    # 30 address lists
    date = "Thu, 21 Mar 2024 13:37:00 +0100"
    to = [("Doe, John", "john.doe@example.com"), ("José García", "jose@example.es"),
          (None, "plain@example.net"), ("François Müller", "francois@example.fr")]
    cc = [("山田太郎", "yamada@example.jp"), ("Иван Петров", "ivan@example.ru"), ("O'Brien, Pat", "pat.obrien@example.ie")]
    reply = [("Support – Team", "support@example.com")]
    to_tokens = [
        addr_header(*to[0]) + ",",
        addr_header(*to[1], charset="UTF-8", enc="Q") + ",",
        to[2][1] + ",",
        addr_header(*to[3], charset="ISO-8859-1", enc="Q"),
    ]
    cc_tokens = [
        addr_header(*cc[0], charset="UTF-8", enc="B") + ",",
        " ".join(encoded_words(cc[1][0], "KOI8-R", "B", "koi8-r")) + " <%s>," % cc[1][1],
        addr_header(*cc[2]),
    ]
    frm = ("Renée Dupré", "renee@example.fr")
    hdrs = std_headers(30, "Subject: Team lunch on Friday", "From: " + addr_header(*frm),
                       fold("To", to_tokens), date,
                       extra=[fold("Cc", cc_tokens), "Reply-To: " + addr_header(*reply[0])])
    part = text_part("Lunch is on Friday at noon. Reply to the support address, please.\n", "us-ascii", "7bit")
    exp = base_expect(30, "To and Cc with several addresses: quoted names with commas, encoded names "
                      "(UTF-8 Q/B, ISO-8859-1, KOI8-R), a bare address, folded headers; Reply-To",
                      "Team lunch on Friday", mbox(*frm), [mbox(*a) for a in to], date,
                      text="Lunch is on Friday at noon.", charset="us-ascii",
                      cc=[mbox(*a) for a in cc], reply_to=[mbox(*a) for a in reply])
    add("30-address-lists.eml", message(hdrs, part), exp)

    # 31 no Content-Type at all (defaults to text/plain; charset=us-ascii)
    date = "Fri, 22 Mar 2024 06:00:00 -0700"
    hdrs = std_headers(31, "Subject: No Content-Type header", "From: " + addr_header(*ALICE),
                       "To: " + addr_header(*BOB), date, mime=False)
    body = crlf("This message has no MIME headers at all.\nIt must be read as text/plain; charset=us-ascii.\n").encode("ascii")
    data = "\r\n".join(hdrs).encode("ascii") + CRLF + CRLF + body
    exp = base_expect(31, "no MIME-Version and no Content-Type: implicit text/plain us-ascii",
                      "No Content-Type header", mbox(*ALICE), [mbox(*BOB)], date,
                      text="This message has no MIME headers at all.", charset=None)
    add("31-no-content-type.eml", data, exp)

    # 32 broken: multipart without closing boundary
    date = "Sat, 23 Mar 2024 23:59:00 +0000"
    blob = b"\x00\x01\x02binary\xff\xfe" * 8
    mixed = multipart("mixed", "b32_never_closed", [
        text_part("The closing boundary of this multipart is missing.\n", "us-ascii", "7bit"),
        attachment(blob, "application/octet-stream", '; filename="data.bin"'),
    ], close=False, preamble="This is a multi-part message in MIME format.")
    hdrs = std_headers(32, "Subject: Broken MIME (no closing boundary)", "From: " + addr_header(*ALICE),
                       "To: " + addr_header(*BOB), date)
    exp = base_expect(32, "multipart/mixed whose closing boundary is missing (truncated); a lenient parser "
                      "still finds the text and the last part", "Broken MIME (no closing boundary)",
                      mbox(*ALICE), [mbox(*BOB)], date,
                      text="The closing boundary of this multipart is missing.", charset="us-ascii")
    exp["attachments"] = [att_expect(blob, "data.bin", "application/octet-stream")]
    exp["broken"] = True
    add("32-broken-multipart.eml", message(hdrs, mixed), exp)

    # 33 hostile file names
    date = "Sun, 24 Mar 2024 03:14:15 +0000"
    d1 = crlf("root:x:0:0:this is not really /etc/passwd:/root:/bin/sh\n").encode("ascii")
    d2 = crlf("CON is a reserved device name on Windows.\n").encode("ascii")
    d3 = crlf("control character and slash in the name\n").encode("ascii")
    evil = "evil\x07name/with-slash.txt"
    mixed = multipart("mixed", "b33_hostile", [
        text_part("Three attachments with hostile file names.\n", "us-ascii", "7bit"),
        attachment(d1, "text/plain", '; filename="../../etc/passwd"'),
        attachment(d2, "text/plain", '; filename="CON.txt"'),
        attachment(d3, "text/plain", "; filename*=UTF-8''%s" % pct(evil)),
    ])
    hdrs = std_headers(33, "Subject: Hostile attachment names", "From: " + addr_header("Mallory", "mallory@example.net"),
                       "To: " + addr_header(*BOB), date)
    exp = base_expect(33, "hostile attachment names: path traversal, Windows reserved name, control "
                      "character (BEL) + slash (RFC 2231); names given raw, a safe API must sanitise",
                      "Hostile attachment names", mbox("Mallory", "mallory@example.net"), [mbox(*BOB)], date,
                      text="Three attachments with hostile file names.", charset="us-ascii")
    exp["attachments"] = [att_expect(d1, "../../etc/passwd", "text/plain"), att_expect(d2, "CON.txt", "text/plain"),
                          att_expect(d3, evil, "text/plain")]
    add("33-hostile-filenames.eml", message(hdrs, mixed), exp)


# ---------------------------------------------------------------------------
# self-check with Python's email package


def check():
    import email
    import email.header
    import email.policy
    import email.utils

    def dec_hdr(v):
        return str(email.header.make_header(email.header.decode_header(v)))

    def addrs(msg, name):
        vals = msg.get_all(name, [])
        out = []
        for nm, ad in email.utils.getaddresses([str(v) for v in vals]):
            out.append({"name": dec_hdr(nm) if nm else None, "address": ad})
        return out

    def walk(part, out, bodies):
        ct = part.get_content_type()
        if part.is_multipart() and ct != "message/rfc822":
            for p in part.get_payload():
                walk(p, out, bodies)
            return
        disp = part.get_content_disposition()
        if ct in ("text/plain", "text/html") and disp != "attachment" and part.get_filename() is None \
                and ct not in bodies:
            bodies[ct] = part
            return
        # message/rfc822 bytes are checked against the raw file below
        data = None if ct == "message/rfc822" else part.get_payload(decode=True)
        fn = part.get_filename()
        if fn is not None and "=?" in fn:
            fn = dec_hdr(fn)
        cid = part.get("Content-ID")
        out.append({"filename": fn, "content_type": ct, "content_id": cid.strip("<>") if cid else None,
                    "inline": disp == "inline", "data": data})

    ok = True
    for name, exp in EXPECTED.items():
        msg = email.message_from_bytes(CORPUS[name], policy=email.policy.compat32)
        problems = []
        subj = dec_hdr(msg.get("Subject", "")).replace("\r\n", "")
        if subj != exp["subject"]:
            problems.append("subject %r != %r" % (subj, exp["subject"]))
        for key, hdr in (("to", "To"), ("cc", "Cc"), ("reply_to", "Reply-To")):
            got = addrs(msg, hdr)
            if got != exp[key]:
                problems.append("%s %r != %r" % (key, got, exp[key]))
        if addrs(msg, "From") != [exp["from"]]:
            problems.append("from %r != %r" % (addrs(msg, "From"), exp["from"]))
        atts, bodies = [], {}
        walk(msg, atts, bodies)
        for ct, key in (("text/plain", "text_contains"), ("text/html", "html_contains")):
            want = exp[key]
            if ct not in bodies:
                if want is not None:
                    problems.append("no %s body" % ct)
                continue
            p = bodies[ct]
            raw = p.get_payload(decode=True)
            txt = raw.decode(p.get_content_charset() or "us-ascii").replace("\r\n", "\n")
            if want is None or want not in txt:
                problems.append("%s %r not in %r" % (key, want, txt[:200]))
        if len(atts) != len(exp["attachments"]):
            problems.append("attachments %d != %d" % (len(atts), len(exp["attachments"])))
        for a, e in zip(atts, exp["attachments"]):
            for k in ("filename", "content_type", "content_id", "inline"):
                if a[k] != e[k]:
                    problems.append("attachment %s %r != %r" % (k, a[k], e[k]))
            if a["data"] is not None and hashlib.sha256(a["data"]).hexdigest() != e["sha256"]:
                problems.append("attachment %r sha256 mismatch" % e["filename"])
        if problems:
            ok = False
            print("CHECK FAILED %s:\n  %s" % (name, "\n  ".join(problems)), file=sys.stderr)
    # message/rfc822 bytes: compare with the raw file slice
    raw = CORPUS["26-forwarded-rfc822.eml"]
    e = EXPECTED["26-forwarded-rfc822.eml"]["attachments"][0]
    start = raw.index(b"Content-Disposition: attachment; filename=\"Zahlen.eml\"\r\n\r\n") + len(
        b"Content-Disposition: attachment; filename=\"Zahlen.eml\"\r\n\r\n")
    end = raw.index(b"\r\n--b26_outer--")
    if hashlib.sha256(raw[start:end]).hexdigest() != e["sha256"] or end - start != e["size"]:
        ok = False
        print("CHECK FAILED 26: message/rfc822 slice differs", file=sys.stderr)
    return ok


def main():
    gen_plain()
    gen_subjects()
    gen_structures()
    gen_body_charsets()
    gen_misc()
    for name, data in CORPUS.items():
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(EXPECTED, f, ensure_ascii=False, indent=2, sort_keys=True)
        f.write("\n")
    # every .eml in the folder must come from this script
    stray = sorted(n for n in os.listdir(HERE) if n.endswith(".eml") and n not in CORPUS)
    if stray:
        print("warning: .eml files not generated by gen.py: %s" % ", ".join(stray), file=sys.stderr)
    if not check():
        sys.exit(1)
    print("wrote %d messages and expected.json to %s" % (len(CORPUS), HERE))


if __name__ == "__main__":
    main()
