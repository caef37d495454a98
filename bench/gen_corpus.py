#!/usr/bin/env python3
"""Writes a deterministic corpus of realistic e-mail messages for the imapmail benchmark.

    gen_corpus.py OUTDIR [--messages N] [--seed S]

The same arguments always give byte-identical files: OUTDIR/000001.eml ... plus
OUTDIR/manifest.json (count, total bytes, seed). Default: 5,000 messages, about 420 MB.

The mix follows real mailboxes: about a quarter plain-text mail, a quarter
multipart/alternative (text + HTML), four in ten multipart/mixed with 1 to 4 attachments
(2 KB to 300 KB each, base64, log-uniform sizes: mostly small, some large) and a few
multipart/related (inline image) and forwarded message/rfc822 mails. Bodies use several charsets and transfer encodings (UTF-8 8bit and
quoted-printable, ISO-8859-1, Windows-1252, KOI8-R, ISO-2022-JP, Shift_JIS); subjects and
names with non-ASCII text are RFC 2047-encoded. Headers carry the usual trail of Received,
DKIM-Signature and list headers, so header-only listings move realistic amounts of data.
Line endings are LF, as in a Maildir (Dovecot sends CRLF).
"""

import argparse
import base64
import json
import os
import quopri
import random
import sys
import time

# Text in a few languages, each with the charsets it is commonly sent in.
LANGS = {
    "en": {
        "charsets": [("us-ascii", "7bit"), ("utf-8", "quoted-printable"), ("utf-8", "7bit")],
        "words": (
            "the meeting report budget quarter please review attached draft schedule team "
            "project deadline update thanks regards customer invoice order shipping delay "
            "server release notes feedback proposal agenda minutes summary action items "
            "tomorrow afternoon morning friday monday contract signature approval pending"
        ).split(),
        "names": ["Alice Johnson", "Bob Smith", "Carol White", "Dave Miller", "Erin Clark"],
    },
    "fr": {
        "charsets": [("iso-8859-1", "quoted-printable"), ("utf-8", "8bit"),
                     ("windows-1252", "quoted-printable")],
        "words": (
            "réunion été bientôt déjà très préféré équipe reçu à côté où garçon "
            "français élève hôpital fenêtre forêt naïf cœur œuvre rendez-vous "
            "facture commande livraison prochaine semaine merci cordialement projet"
        ).split(),
        "names": ["Élodie Lefèvre", "François Dupré", "Hélène Bénard", "Jérôme Gaëtan"],
    },
    "de": {
        "charsets": [("iso-8859-1", "quoted-printable"), ("utf-8", "quoted-printable")],
        "words": (
            "Grüße Straße Änderung Übersicht Prüfung schön größer Bestätigung Rechnung "
            "Besprechung nächste Woche Vorschlag Termin Abschluss Lieferung Qualität"
        ).split(),
        "names": ["Jürgen Müller", "Käthe Schäfer", "Björn Weiß", "Sören Köhler"],
    },
    "ru": {
        "charsets": [("koi8-r", "8bit"), ("utf-8", "base64"), ("windows-1251", "8bit")],
        "words": (
            "привет встреча отчёт бюджет квартал пожалуйста проверьте проект срок "
            "обновление спасибо клиент заказ доставка сервер выпуск завтра пятница"
        ).split(),
        "names": ["Иван Петров", "Мария Иванова", "Сергей Смирнов", "Ольга Кузнецова"],
    },
    "ja": {
        "charsets": [("iso-2022-jp", "7bit"), ("shift_jis", "base64"), ("utf-8", "base64")],
        "words": (
            "会議 報告 予算 四半期 確認 添付 資料 予定 チーム 締切 更新 "
            "ありがとう よろしく お願いします 顧客 請求書 注文 配送 明日 金曜日"
        ).split(),
        "names": ["山田 太郎", "佐藤 花子", "鈴木 一郎", "高橋 美咲"],
    },
    "emoji": {
        "charsets": [("utf-8", "8bit"), ("utf-8", "quoted-printable")],
        "words": (
            "party 🎉 launch 🚀 coffee ☕ done ✅ idea 💡 thanks 🙏 great 👍 "
            "weekend 🌞 pizza 🍕 music 🎵 naïve café déjà vu"
        ).split(),
        "names": ["Zoë Ångström", "Renée O'Connor", "Øystein Ås"],
    },
}
LANG_WEIGHTS = [("en", 50), ("fr", 12), ("de", 10), ("ru", 10), ("ja", 10), ("emoji", 8)]

ATTACHMENT_TYPES = [
    ("application/pdf", "pdf", "Report"),
    ("image/jpeg", "jpg", "IMG_"),
    ("image/png", "png", "screenshot-"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "Draft "),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Budget "),
    ("application/zip", "zip", "archive-"),
    ("text/csv", "csv", "export-"),
    ("text/calendar", "ics", "invite"),
]
NON_ASCII_FILENAMES = ["Präsentation", "résumé", "отчёт", "資料", "naïve café"]

DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "lists.example.org"]


def pick_weighted(rng, items):
    total = sum(w for _, w in items)
    x = rng.uniform(0, total)
    for item, w in items:
        x -= w
        if x <= 0:
            return item
    return items[-1][0]


def log_uniform(rng, lo, hi):
    import math
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def encoded_word(text):
    """RFC 2047 encoding (UTF-8, B or Q like real mailers) of text that is not plain ASCII."""
    try:
        text.encode("ascii")
        return text
    except UnicodeEncodeError:
        pass
    # Encoded words stay short (<= 75 chars): split on character boundaries.
    q_style = len(text) % 2 == 0
    chunks, chunk = [], ""
    for ch in text:
        if len((chunk + ch).encode("utf-8")) > (18 if q_style else 36):
            chunks.append(chunk)
            chunk = ""
        chunk += ch
    chunks.append(chunk)
    words = []
    for part in chunks:
        b = part.encode("utf-8")
        if q_style:
            q = "".join(chr(c) if chr(c).isalnum() and c < 128 else "_" if c == 32
                        else "=%02X" % c for c in b)
            words.append("=?utf-8?Q?%s?=" % q)
        else:
            words.append("=?utf-8?B?%s?=" % base64.b64encode(b).decode())
    return "\n ".join(words)


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        # Pools of sentences per language (picking sentences is much faster than words).
        self.sentences = {}
        for lang, info in LANGS.items():
            pool = []
            for _ in range(300):
                n = self.rng.randint(6, 16)
                words = [self.rng.choice(info["words"]) for _ in range(n)]
                sep = "" if lang == "ja" else " "
                s = sep.join(words)
                pool.append(s[0].upper() + s[1:] + ("。" if lang == "ja" else "."))
            self.sentences[lang] = pool

    def paragraphs(self, lang, nbytes):
        out, size = [], 0
        rng = self.rng
        while size < nbytes:
            para = " ".join(rng.choice(self.sentences[lang]) for _ in range(rng.randint(2, 6)))
            out.append(para)
            size += len(para.encode("utf-8")) + 2
        return out

    @staticmethod
    def wrap(text, width=72):
        lines, line = [], ""
        for word in text.split(" "):
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = word if not line else line + " " + word
        if line:
            lines.append(line)
        return "\n".join(lines)

    def address(self, lang):
        rng = self.rng
        name = rng.choice(LANGS[lang]["names"] + LANGS["en"]["names"])
        local = "user%d" % rng.randint(1, 400)
        dom = rng.choice(DOMAINS)
        return '%s <%s@%s>' % (encoded_word(name), local, dom), "%s@%s" % (local, dom)

    def text_part(self, lang, nbytes, subtype="plain", paras=None):
        """A complete text/* part (headers + body) in one of the language's charsets."""
        rng = self.rng
        charset, cte = rng.choice(LANGS[lang]["charsets"])
        paras = paras if paras is not None else self.paragraphs(lang, nbytes)
        if subtype == "html":
            body = (
                "<!DOCTYPE html>\n<html><head><meta charset=\"%s\">"
                "<style>body{font-family:Arial,sans-serif;font-size:14px}"
                "p{margin:0 0 1em 0}.sig{color:#888}</style></head>\n<body>\n" % charset
                + "\n".join("<p>%s</p>" % self.wrap(p) for p in paras)
                + "\n<table border=\"0\"><tr><td class=\"sig\">-- <br>Sent from the "
                "benchmark</td></tr></table>\n</body></html>\n"
            )
        else:
            body = "\n\n".join(self.wrap(p) for p in paras) + "\n\n-- \nSent from the benchmark\n"
        try:
            raw = body.encode(charset)
        except UnicodeEncodeError:
            charset = "utf-8"
            raw = body.encode(charset)
        if charset == "us-ascii" and cte == "quoted-printable":
            cte = "7bit"
        try:
            raw.decode("ascii")
            is_ascii = True
        except UnicodeDecodeError:
            is_ascii = False
        if cte == "7bit" and not is_ascii and charset != "iso-2022-jp":
            cte = "quoted-printable"
        if cte == "quoted-printable":
            payload = quopri.encodestring(raw)
        elif cte == "base64":
            payload = base64.encodebytes(raw)
        else:
            payload = raw
        head = "Content-Type: text/%s; charset=\"%s\"\nContent-Transfer-Encoding: %s\n" % (
            subtype, charset, cte)
        return head.encode("ascii") + b"\n" + payload

    def attachment(self):
        rng = self.rng
        ctype, ext, stem = rng.choice(ATTACHMENT_TYPES)
        size = log_uniform(rng, 2 * 1024, 300 * 1024)
        if ctype.startswith("text/"):
            lines = []
            n = 0
            while n < size:
                line = "%d,%s,%d.%02d,%s" % (rng.randint(1, 99999), rng.choice(LANGS["en"]["words"]),
                                               rng.randint(0, 9999), rng.randint(0, 99),
                                               rng.choice(["open", "closed", "pending"]))
                lines.append(line)
                n += len(line) + 1
            data = ("\n".join(lines) + "\n").encode()
        else:
            data = rng.randbytes(size)
        if rng.random() < 0.15:
            name = "%s %d.%s" % (rng.choice(NON_ASCII_FILENAMES), rng.randint(1, 99), ext)
            # RFC 2231 for some, RFC 2047 in quotes (what Outlook does) for others.
            if rng.random() < 0.5:
                from urllib.parse import quote
                disp_name = "filename*=utf-8''%s" % quote(name)
            else:
                disp_name = 'filename="%s"' % encoded_word(name).replace("\n ", "")
        else:
            name = "%s%d.%s" % (stem, rng.randint(1, 9999), ext)
            disp_name = 'filename="%s"' % name
        head = "Content-Type: %s; name=\"%s\"\nContent-Disposition: attachment;\n %s\n" \
               "Content-Transfer-Encoding: base64\n" % (ctype, name.encode("ascii", "replace").decode(),
                                                       disp_name)
        return head.encode("utf-8") + b"\n" + base64.encodebytes(data)

    def boundary(self):
        return "----=_Part_%d_%d.%d" % (self.rng.randint(1, 10 ** 6), self.rng.randint(1, 10 ** 9),
                                        self.rng.randint(10 ** 12, 10 ** 13))

    def multipart(self, subtype, parts):
        b = self.boundary()
        out = [("Content-Type: multipart/%s;\n boundary=\"%s\"\n\n" % (subtype, b)).encode(),
               b"This is a multi-part message in MIME format.\n"]
        for p in parts:
            out.append(("\n--%s\n" % b).encode())
            out.append(p)
        out.append(("\n--%s--\n" % b).encode())
        return b"".join(out)

    def alternative(self, lang, nbytes):
        paras = self.paragraphs(lang, nbytes)
        return self.multipart("alternative", [
            self.text_part(lang, 0, "plain", paras),
            self.text_part(lang, 0, "html", paras),
        ])

    def headers(self, i, lang, subject, date):
        rng = self.rng
        from_hdr, from_addr = self.address(lang)
        to = ", ".join(self.address(lang)[0] for _ in range(rng.randint(1, 3)))
        h = []
        hops = rng.randint(2, 7)
        t = date
        for hop in range(hops):
            t -= rng.randint(1, 30)
            h.append("Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\n\tby mail.example.com "
                     "(Postfix) with ESMTPS id %X\n\tfor <me@example.com>; %s" % (
                         hop, rng.choice(DOMAINS), hop, rng.choice(DOMAINS), rng.randint(1, 254),
                         rng.getrandbits(40), time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                                            time.gmtime(t))))
        if rng.random() < 0.6:
            sig = base64.b64encode(rng.randbytes(256)).decode()
            h.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s;\n\ts=sel1; "
                     "h=from:to:subject:date:message-id;\n\tbh=%s;\n\tb=%s" % (
                         from_addr.split("@")[1], base64.b64encode(rng.randbytes(32)).decode(),
                         "\n\t ".join(sig[k:k + 70] for k in range(0, len(sig), 70))))
        if rng.random() < 0.3:
            h.append("List-Id: <team.lists.example.org>")
            h.append("List-Unsubscribe: <mailto:leave-%d@lists.example.org>" % rng.randint(1, 9999))
        h.append("From: %s" % from_hdr)
        h.append("To: %s" % to.replace(", ", ",\n "))
        if rng.random() < 0.3:
            h.append("Cc: %s" % self.address(lang)[0])
        h.append("Subject: %s" % encoded_word(subject))
        h.append("Date: %s" % time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(date)))
        h.append("Message-ID: <%d.%X@%s>" % (i, rng.getrandbits(48), rng.choice(DOMAINS)))
        h.append("MIME-Version: 1.0")
        if rng.random() < 0.5:
            h.append("X-Mailer: Benchmark Mailer %d.%d" % (rng.randint(1, 9), rng.randint(0, 20)))
        return ("\n".join(h) + "\n").encode("utf-8")

    def message(self, i, date):
        rng = self.rng
        lang = pick_weighted(rng, LANG_WEIGHTS)
        subject = " ".join(rng.choice(LANGS[lang]["words"]) for _ in range(rng.randint(3, 8)))
        subject = "%s #%d" % (subject, i)
        kind = pick_weighted(rng, [("plain", 26), ("alternative", 25), ("mixed", 42),
                                   ("related", 4), ("forward", 3)])
        text_size = log_uniform(rng, 300, 40 * 1024)
        if kind == "plain":
            body = self.text_part(lang, text_size)
        elif kind == "alternative":
            body = self.alternative(lang, text_size)
        elif kind == "mixed":
            first = self.alternative(lang, text_size) if rng.random() < 0.6 \
                else self.text_part(lang, text_size)
            n = pick_weighted(rng, [(1, 45), (2, 30), (3, 15), (4, 10)])
            body = self.multipart("mixed", [first] + [self.attachment() for _ in range(n)])
        elif kind == "related":
            cid = "img%d@example.com" % i
            paras = self.paragraphs(lang, text_size)
            html = self.text_part(lang, 0, "html", paras)
            img = ("Content-Type: image/png; name=\"logo.png\"\nContent-ID: <%s>\n"
                   "Content-Disposition: inline; filename=\"logo.png\"\n"
                   "Content-Transfer-Encoding: base64\n\n" % cid).encode() + \
                base64.encodebytes(rng.randbytes(log_uniform(rng, 2048, 40 * 1024)))
            body = self.multipart("alternative", [
                self.text_part(lang, 0, "plain", paras),
                self.multipart("related", [html, img]),
            ])
        else:  # forward: a message/rfc822 attachment holding a small message
            inner = self.headers(i + 10 ** 7, lang, "Fwd: " + subject, date - 86400) + \
                self.text_part(lang, log_uniform(rng, 300, 8 * 1024))
            body = self.multipart("mixed", [
                self.text_part(lang, 400),
                b"Content-Type: message/rfc822\nContent-Disposition: attachment\n\n" + inner,
            ])
        return self.headers(i, lang, subject, date) + body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args()
    if args.messages < 1:
        ap.error("--messages must be at least 1")
    os.makedirs(args.outdir, exist_ok=True)
    gen = Gen(args.seed)
    total = 0
    date = 1700000000
    for i in range(1, args.messages + 1):
        date += gen.rng.randint(60, 7200)
        data = gen.message(i, date)
        total += len(data)
        path = os.path.join(args.outdir, "%06d.eml" % i)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (date, date))
    manifest = {"messages": args.messages, "bytes": total, "seed": args.seed}
    with open(os.path.join(args.outdir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("gen_corpus: %d messages, %.1f MB in %s" % (args.messages, total / 1e6, args.outdir))


if __name__ == "__main__":
    sys.exit(main())
