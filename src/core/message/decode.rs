//! Bytes of a part: transfer decoding (lenient where mailparse gives up) and text in its
//! charset (with fallbacks for unknown or wrong labels).

use mailparse::ParsedMail;

/// Bytes of unknown charset as text: UTF-8 when they are valid UTF-8, else Windows-1252 (the
/// superset of Latin-1 that mislabelled Western mail almost always is).
pub(super) fn decode_text_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => windows_1252(bytes),
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}',
        '\u{017D}', '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}',
        '\u{2013}', '\u{2014}', '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}',
        '\u{9D}', '\u{017E}', '\u{0178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[usize::from(b - 0x80)],
            _ => char::from(b),
        })
        .collect()
}

/// Base64 decoded as far as it goes: characters outside the alphabet are skipped, padding is
/// optional, a trailing incomplete group gives the bytes it holds.
fn lenient_base64(encoded: &[u8]) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(encoded.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in encoded.iter().filter_map(|&c| value(c)) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The decoded bytes of a part: mailparse's, or when its transfer decoding fails (base64 with
/// garbage), a lenient decoding of the raw bytes.
pub(super) fn part_bytes(part: &ParsedMail<'_>) -> Vec<u8> {
    part_bytes_checked(part).0
}

/// As [`part_bytes`], with whether mailparse's transfer decoding succeeded.
fn part_bytes_checked(part: &ParsedMail<'_>) -> (Vec<u8>, bool) {
    match part.get_body_raw() {
        Ok(b) => (b, true),
        Err(_) => match part.get_body_encoded() {
            mailparse::body::Body::Base64(b) => (lenient_base64(b.get_raw()), false),
            other => (raw_of(&other).to_vec(), false),
        },
    }
}

/// Transfer-decoded bytes as text in the part's charset, exactly as mailparse's `get_body`
/// does (the same `charset` crate, ASCII for an unknown label), without decoding the
/// transfer encoding a second time.
fn charset_decode(bytes: &[u8], label: &str) -> String {
    match charset::Charset::for_label(label.as_bytes()) {
        Some(cs) => cs.decode(bytes).0.into_owned(),
        None => charset::decode_ascii(bytes).into_owned(),
    }
}

fn raw_of<'a>(body: &'a mailparse::body::Body<'a>) -> &'a [u8] {
    match body {
        mailparse::body::Body::Base64(b) | mailparse::body::Body::QuotedPrintable(b) => b.get_raw(),
        mailparse::body::Body::SevenBit(b) | mailparse::body::Body::EightBit(b) => b.get_raw(),
        mailparse::body::Body::Binary(b) => b.get_raw(),
    }
}

/// True when mailparse knows the charset label (its table is the WHATWG one: `utf8`,
/// `latin1`, `cp1252`, ... but not `latin-1` or `x-unknown`). Probed by decoding two bytes that
/// every single- and double-byte charset maps to characters; an unknown label decodes them as
/// ASCII, to U+FFFD (as does UTF-8, whose invalid bytes get the same fallback).
fn charset_known(label: &str) -> bool {
    let ctype = mailparse::parse_content_type(&format!(
        "text/plain; charset=\"{}\"",
        label.replace(['"', '\\'], "")
    ));
    match mailparse::body::Body::new(b"\xe9\xa1", &ctype, &Some("8bit".to_string())) {
        mailparse::body::Body::EightBit(t) => {
            t.get_as_string().is_ok_and(|s| !s.contains('\u{FFFD}'))
        }
        _ => false,
    }
}

/// The text of a text part. mailparse decodes the charsets it knows. Where it gives U+FFFD
/// because it does not know the label (`latin-1`, `x-unknown`) or the bytes are not in the
/// declared charset (Latin-1 text labelled UTF-8), the bytes are taken as UTF-8 when valid,
/// else as Windows-1252. Undeclared (US-ASCII) text with 8-bit bytes is taken the same way
/// (raw UTF-8 is far more common there than Windows-1252).
pub(super) fn part_text(part: &ParsedMail<'_>) -> String {
    let (bytes, transfer_decoded) = part_bytes_checked(part);
    let label = part.ctype.charset.trim().to_ascii_lowercase();
    // ASCII bytes go through the charset too: 7-bit charsets (ISO-2022-JP, UTF-7) need decoding.
    let undeclared = label == "us-ascii" || label == "ascii" || label.is_empty();
    if (undeclared && !bytes.is_ascii()) || !transfer_decoded {
        return decode_text_bytes(&bytes);
    }
    let text = charset_decode(&bytes, &part.ctype.charset);
    if text.contains('\u{FFFD}') && !charset_known(&label) {
        let fallback = decode_text_bytes(&bytes);
        if !fallback.contains('\u{FFFD}') {
            return fallback;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::Message;

    fn part_text_through_get_body(part: &ParsedMail<'_>) -> String {
        let bytes = part_bytes(part);
        let label = part.ctype.charset.trim().to_ascii_lowercase();
        let undeclared = label == "us-ascii" || label == "ascii" || label.is_empty();
        if undeclared && !bytes.is_ascii() {
            return decode_text_bytes(&bytes);
        }
        let text = match part.get_body() {
            Ok(t) => t,
            Err(_) => return decode_text_bytes(&bytes),
        };
        if text.contains('\u{FFFD}') && !charset_known(&label) {
            let fallback = decode_text_bytes(&bytes);
            if !fallback.contains('\u{FFFD}') {
                return fallback;
            }
        }
        text
    }

    fn every_part<'a>(part: &'a ParsedMail<'a>, out: &mut Vec<&'a ParsedMail<'a>>) {
        out.push(part);
        for sub in &part.subparts {
            every_part(sub, out);
        }
    }

    #[test]
    fn text_decoded_once_is_what_get_body_gave() {
        // Every part of the corpus and broken-mail messages, also under charsets and transfer
        // encodings they were not written in.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
        let mut compared = 0;
        for dir in ["corpus", "broken"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                    continue;
                }
                let raw = std::fs::read(&path).unwrap();
                let Some(start) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let body = &raw[start + 4..];
                let mut variants = vec![raw.clone()];
                for charset in [
                    "utf-8",
                    "iso-8859-1",
                    "latin-1",
                    "x-unknown",
                    "koi8-r",
                    "utf-7",
                ] {
                    for cte in ["quoted-printable", "base64", "8bit"] {
                        let mut v = format!(
                            "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
                        )
                        .into_bytes();
                        v.extend_from_slice(body);
                        variants.push(v);
                    }
                }
                for v in &variants {
                    let Ok(mail) = mailparse::parse_mail(v) else {
                        continue;
                    };
                    let mut parts = Vec::new();
                    every_part(&mail, &mut parts);
                    for part in parts {
                        assert_eq!(
                            part_text(part),
                            part_text_through_get_body(part),
                            "{}",
                            path.display()
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 500, "{compared}");
    }

    #[test]
    fn raw_8bit_text_declared_quoted_printable_keeps_its_letters() {
        // Mailers do send 8-bit text labelled quoted-printable; the published quoted_printable
        // crate dropped those bytes ("Caf cr\u{e8}me"). Latin-1 too: the bytes reach the
        // charset decoder as they are.
        let raw = "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                   Content-Type: text/plain; charset=utf-8\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n\
                   Caf\u{e9} cr=C3=A8me\r\n--b\r\n\
                   Content-Type: text/html; charset=iso-8859-1\r\n\
                   Content-Transfer-Encoding: quoted-printable\r\n\r\n";
        let mut raw = raw.as_bytes().to_vec();
        raw.extend_from_slice(b"<p>na\xEFve =E9t=E9</p>\r\n--b--\r\n");
        let m = Message::from_raw(raw);
        assert_eq!(m.body().text, "Caf\u{e9} cr\u{e8}me");
        assert_eq!(m.body().html, "<p>na\u{ef}ve \u{e9}t\u{e9}</p>");
    }

    #[test]
    fn lenient_base64_and_windows_1252() {
        assert_eq!(lenient_base64(b"SGVsbG8gd29ybGQ="), b"Hello world");
        assert_eq!(lenient_base64(b"SGVs!!bG8\r\ngd2\x009y"), b"Hello wor");
        assert_eq!(lenient_base64(b""), b"");
        assert_eq!(windows_1252(b"Gr\xfc\xdfe \x80 \x93ok\x94"), "Grüße € “ok”");
        assert_eq!(decode_text_bytes("déjà".as_bytes()), "déjà");
        assert_eq!(decode_text_bytes(b"d\xe9j\xe0"), "déjà");
    }

    #[test]
    fn unknown_or_misspelled_charset_is_not_replacement_characters() {
        let raw = b"Content-Type: text/plain; charset=latin-1\r\n\r\nK\xf6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        let raw = b"Content-Type: text/plain; charset=x-unknown\r\n\r\nK\xc3\xb6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        let raw = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nK\xf6ln".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
        // 7-bit bytes of a stateful charset are decoded, not taken as ASCII.
        let raw =
            b"Content-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$BF|K\\\x1b(B".to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "日本");
        // Raw UTF-8 in a part without a charset.
        let raw = "Subject: x\r\n\r\nK\u{f6}ln".as_bytes().to_vec();
        assert_eq!(Message::from_raw(raw).body().text, "Köln");
    }
}
