//! The MIME body: the text and HTML bodies chosen, the other parts as attachments.

use mailparse::{MailHeaderMap, ParsedMail};

use super::decode::{decode_text_bytes, part_bytes, part_text};
use super::headers::{find_body_start, sanitize_header_block};
use super::{Attachment, BodyInfo};

pub(super) fn decode_body(raw: &[u8]) -> BodyInfo {
    let first = match mailparse::parse_mail(raw) {
        Ok(mail) => return select(&mail),
        Err(e) => e,
    };
    // A header block mailparse refuses: decode the message with a cleaned header block.
    let mut cleaned = sanitize_header_block(raw);
    cleaned.extend_from_slice(&raw[find_body_start(raw)..]);
    if let Ok(mail) = mailparse::parse_mail(&cleaned) {
        return select(&mail);
    }
    // Too deep or otherwise undecodable: the bytes after the header block are the text (best
    // effort) and, unchanged, an attachment, so that nothing is lost.
    let start = find_body_start(raw);
    let rest = &raw[start..];
    BodyInfo {
        text: decode_text_bytes(rest),
        attachments: vec![Attachment {
            name: "undecoded.bin".to_string(),
            content_type: "application/octet-stream".to_string(),
            data: rest.to_vec(),
            ..Attachment::default()
        }],
        error: Some(format!("MIME structure could not be decoded: {first}")),
        ..BodyInfo::default()
    }
}

/// The body rule (the C header's documentation of `email_message_text` says the same):
///
/// - The text is the first `text/plain` part, and the HTML the first `text/html` part, met
///   in a depth-first walk that skips parts with `Content-Disposition: attachment`, does not
///   enter attached messages (`message/rfc822`), and enters only the root of a
///   `multipart/related` (the part named by its `start` parameter, else the first). This
///   is Python's `get_body(('plain',))` / `get_body(('html',))`, MimeKit's `TextBody` /
///   `HtmlBody`, and RFC 2046's reading (in a `multipart/alternative` the plain and the HTML
///   version are each the acceptable alternative of their type). A file name does not make
///   a text part an attachment; its disposition does.
/// - Every other part is an attachment, in the message's order, except the other
///   `text/*` versions of a `multipart/alternative` (renderings of the same content).
///   Inline: `Content-Disposition: inline`, or no disposition and a Content-ID (an image
///   the HTML refers to), or no disposition, a `text/*` type and no file name (more text
///   of the message, which mail readers show in the body).
/// - A multipart without a boundary parameter is a `text/plain` part (RFC 2045 5.2: its
///   Content-Type is invalid); one whose boundary never occurs is one part of its type
///   (an attachment, as in Python and MimeKit). A part with neither header fields nor
///   content (two boundaries in a row) is nothing.
fn select(mail: &ParsedMail<'_>) -> BodyInfo {
    let text_part = find_body(mail, "text/plain");
    let html_part = find_body(mail, "text/html");
    let mut body = BodyInfo {
        text: text_part.map(part_text).unwrap_or_default(),
        html: html_part.map(part_text).unwrap_or_default(),
        ..BodyInfo::default()
    };
    let bodies = [text_part, html_part];
    collect_attachments(mail, &bodies, false, &mut body.attachments);
    // A multipart whose boundary never occurs could not be split: its bytes are an
    // attachment of its type, and the message says so.
    if let Some(index) = body
        .attachments
        .iter()
        .position(|a| a.content_type.starts_with("multipart/"))
    {
        body.error = Some(format!(
            "a {} part has no part with its boundary; its bytes are attachment {index}",
            body.attachments[index].content_type
        ));
    }
    body
}

/// The type a part is read as: a multipart without a boundary parameter is text/plain
/// (RFC 2045 5.2: its Content-Type is invalid); a multipart whose boundary never occurs is
/// one part of that type.
fn effective_type<'a>(part: &'a ParsedMail<'_>) -> &'a str {
    let mime = part.ctype.mimetype.as_str();
    if mime.starts_with("multipart/") && !part.ctype.params.contains_key("boundary") {
        "text/plain"
    } else {
        mime
    }
}

fn is_multipart_with_parts(part: &ParsedMail<'_>) -> bool {
    part.ctype.mimetype.starts_with("multipart/") && !part.subparts.is_empty()
}

/// `Content-Disposition: attachment` (its first token, read without decoding the field).
fn is_attachment_disposition(part: &ParsedMail<'_>) -> bool {
    part.headers
        .get_first_header("Content-Disposition")
        .is_some_and(|h| {
            let value = h.get_value_raw().trim_ascii_start();
            let token = value
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .map_or(value, |end| &value[..end]);
            token.eq_ignore_ascii_case(b"attachment")
        })
}

/// The first part of type `want` that is a body candidate (see [`select`]).
fn find_body<'a>(part: &'a ParsedMail<'a>, want: &str) -> Option<&'a ParsedMail<'a>> {
    if is_attachment_disposition(part) {
        return None;
    }
    if !is_multipart_with_parts(part) {
        return (effective_type(part) == want).then_some(part);
    }
    if part.ctype.mimetype == "multipart/related" {
        return find_body(related_root(part)?, want);
    }
    part.subparts.iter().find_map(|sub| find_body(sub, want))
}

/// The root of a multipart/related: the part whose Content-ID is its `start` parameter,
/// else the first part.
fn related_root<'a>(part: &'a ParsedMail<'a>) -> Option<&'a ParsedMail<'a>> {
    let start = part
        .ctype
        .params
        .get("start")
        .map(|s| s.trim().trim_start_matches('<').trim_end_matches('>'));
    start
        .and_then(|start| {
            part.subparts
                .iter()
                .find(|sub| content_id(sub).as_deref() == Some(start))
        })
        .or_else(|| part.subparts.first())
}

fn content_id(part: &ParsedMail<'_>) -> Option<String> {
    part.headers.get_first_value("Content-ID").map(|v| {
        v.trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_string()
    })
}

fn collect_attachments(
    part: &ParsedMail<'_>,
    bodies: &[Option<&ParsedMail<'_>>; 2],
    in_alternative: bool,
    out: &mut Vec<Attachment>,
) {
    if is_multipart_with_parts(part) {
        let alternative = part.ctype.mimetype == "multipart/alternative";
        for sub in &part.subparts {
            collect_attachments(sub, bodies, alternative, out);
        }
        return;
    }
    if part.raw_bytes.is_empty() {
        return;
    }
    let mime = effective_type(part);
    if bodies.iter().flatten().any(|b| std::ptr::eq(*b, part)) {
        return;
    }
    let attachment_disposition = is_attachment_disposition(part);
    if in_alternative && mime.starts_with("text/") && !attachment_disposition {
        // Another rendering of the body (text/enriched, a second plain version, ...).
        return;
    }
    let disposition = part.get_content_disposition();
    let filename = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .cloned()
        .unwrap_or_default();
    let content_id = content_id(part).unwrap_or_default();
    let data = part_bytes(part);
    let name = if filename.is_empty() && mime == "message/rfc822" {
        attached_message_name(&data)
    } else {
        filename
    };
    // mailparse reports "inline" when there is no Content-Disposition at all.
    let has_disposition = part
        .headers
        .get_first_header("Content-Disposition")
        .is_some();
    let inline = match disposition.disposition {
        mailparse::DispositionType::Inline if has_disposition => true,
        mailparse::DispositionType::Attachment => false,
        _ if has_disposition => false,
        _ => !content_id.is_empty() || (mime.starts_with("text/") && name.is_empty()),
    };
    out.push(Attachment {
        name,
        content_type: mime.to_string(),
        content_id,
        inline,
        data,
    });
}

/// The name shown for an attached message: its subject plus ".eml".
fn attached_message_name(data: &[u8]) -> String {
    let subject = mailparse::parse_headers(data)
        .ok()
        .and_then(|(h, _)| h.get_first_value("Subject"))
        .unwrap_or_default();
    let subject = subject.trim();
    if subject.is_empty() {
        "message.eml".to_string()
    } else {
        format!("{subject}.eml")
    }
}

#[cfg(test)]
mod tests {
    use crate::core::message::{Message, RecipientKind};

    #[test]
    fn decodes_headers_and_alternative() {
        let raw = b"From: =?UTF-8?Q?Ren=C3=A9e?= <renee@example.com>\r\nTo: a@x.org, \"B\" <b@y.org>\r\nSubject: =?ISO-8859-1?Q?Caf=E9?=\r\nDate: Tue, 1 Nov 2022 10:00:00 +0100\r\nMessage-ID: <id@x>\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n--b--\r\n".to_vec();
        let m = Message::from_raw(raw);
        assert_eq!(m.header().subject, "Café");
        assert_eq!(m.header().from.display(), "Renée <renee@example.com>");
        assert_eq!(m.recipients(RecipientKind::To).len(), 2);
        assert_eq!(m.recipients(RecipientKind::To)[1].name, "B");
        assert_eq!(m.header().timestamp, 1667293200);
        assert_eq!(m.body().text, "hello");
        assert_eq!(m.body().html, "<p>hello</p>");
        assert!(m.body().attachments.is_empty());
        assert_eq!(m.header_value("message-id"), Some("<id@x>"));
        assert_eq!(m.header().message_id, "id@x");
    }

    #[test]
    fn too_deep_mime_still_returns_the_message() {
        let mut raw = String::from("Subject: deep\r\n");
        for i in 0..150 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}z\r\n\r\n--b{i}z\r\n"
            ));
        }
        raw.push_str("\r\nbottom\r\n");
        let m = Message::from_raw(raw.into_bytes());
        assert_eq!(m.header().subject, "deep");
        assert!(m.body().error.is_some());
        assert!(m.body().text.contains("bottom"));
    }

    #[test]
    fn rfc2231_blank_or_unknown_charset_splits_and_names() {
        for boundary in [
            "boundary*=''XYZ",
            "boundary*=\"ansi-x3.4-1968''XYZ\"",
            "boundary*0*=''X; boundary*1=\"YZ\"",
        ] {
            let raw = format!(
                "Subject: x\r\nContent-Type: multipart/mixed; {boundary}\r\n\r\n--XYZ\r\n\
                 Content-Type: text/plain\r\n\r\nthe text\r\n--XYZ\r\n\
                 Content-Type: application/octet-stream\r\n\
                 Content-Disposition: attachment; filename*=''a.txt\r\n\r\n\
                 data\r\n--XYZ--\r\n"
            );
            let m = Message::from_raw(raw.into_bytes());
            assert_eq!(m.body().text, "the text", "{boundary}");
            assert_eq!(m.body().attachments.len(), 1, "{boundary}");
            assert_eq!(m.body().attachments[0].name, "a.txt", "{boundary}");
            assert_eq!(m.body().attachments[0].data, b"data", "{boundary}");
        }
    }

    #[test]
    fn invalid_content_type_is_text_plain() {
        for ctype in [
            "text",
            "text; charset=utf-8",
            "text/",
            "foo",
            "text/plain/x",
        ] {
            let raw = format!("Subject: x\r\nContent-Type: {ctype}\r\n\r\nthe text \u{e9}\r\n");
            let m = Message::from_raw(raw.into_bytes());
            assert_eq!(m.body().text, "the text \u{e9}\r\n", "{ctype}");
            assert!(m.body().attachments.is_empty(), "{ctype}");
        }
    }

    fn mixed(parts: &[&str]) -> Message {
        let mut raw =
            String::from("Subject: s\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n");
        for p in parts {
            raw.push_str(&format!("--m\r\n{p}\r\n"));
        }
        raw.push_str("--m--\r\n");
        Message::from_raw(raw.into_bytes())
    }

    #[test]
    fn one_body_part_and_the_other_parts_as_attachments() {
        // Two inline text parts of a mixed message: the first is the text, the second an
        // inline attachment (they used to be concatenated).
        let m = mixed(&[
            "Content-Type: text/plain\r\n\r\nfirst",
            "Content-Type: text/plain\r\n\r\nsecond",
        ]);
        assert_eq!(m.body().text, "first");
        let a = &m.body().attachments;
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].data.as_slice(), a[0].inline), (&b"second"[..], true));
        // The body inside an alternative comes first; a mailing list footer after it is an
        // inline attachment, not lost.
        let m = mixed(&[
            "Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\n\
             Content-Type: text/plain\r\n\r\nplain\r\n--a\r\n\
             Content-Type: text/enriched\r\n\r\n<b>rich</b>\r\n--a\r\n\
             Content-Type: text/html\r\n\r\n<p>html</p>\r\n--a--",
            "Content-Type: text/plain\r\n\r\nfooter",
        ]);
        assert_eq!(m.body().text, "plain");
        assert_eq!(m.body().html, "<p>html</p>");
        let a = &m.body().attachments;
        assert_eq!(a.len(), 1, "text/enriched is another rendering: {a:?}");
        assert_eq!((a[0].data.as_slice(), a[0].inline), (&b"footer"[..], true));
        // A text part with a file name but no disposition is a body candidate (Python's
        // get_body, MimeKit's TextBody); a disposition "attachment" makes it an attachment.
        let m = mixed(&[
            "Content-Type: text/plain; name=notes.txt\r\n\r\nnotes",
            "Content-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nfile",
        ]);
        assert_eq!(m.body().text, "notes");
        assert_eq!(m.body().attachments.len(), 1);
        assert!(!m.body().attachments[0].inline);
        let m = mixed(&[
            "Content-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nfile",
            "Content-Type: text/plain\r\n\r\nthe text",
        ]);
        assert_eq!(m.body().text, "the text");
        assert_eq!(m.body().attachments[0].name, "a.txt");
        // multipart/related: the root named by `start` is the body; the rest are attachments,
        // inline when referenced by Content-ID.
        let m = mixed(&[
            "Content-Type: multipart/related; boundary=r; start=\"<root>\"\r\n\r\n--r\r\n\
             Content-Type: text/html\r\nContent-ID: <other>\r\n\r\n<p>not the root</p>\r\n--r\r\n\
             Content-Type: text/html\r\nContent-ID: <root>\r\n\r\n<p>root</p>\r\n--r\r\n\
             Content-Type: image/png\r\nContent-ID: <img>\r\n\r\npng\r\n--r--",
        ]);
        assert_eq!(m.body().html, "<p>root</p>");
        let a = &m.body().attachments;
        assert_eq!(a.len(), 2);
        assert_eq!((a[0].content_id.as_str(), a[0].inline), ("other", true));
        assert_eq!(
            (a[1].content_type.as_str(), a[1].inline),
            ("image/png", true)
        );
        // A message that is one non-text part: it is the attachment.
        let m = Message::from_raw(
            b"Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\nR0lG\r\n"
                .to_vec(),
        );
        assert_eq!(m.body().text, "");
        assert_eq!(m.body().attachments[0].data, b"GIF");
    }

    #[test]
    fn undecodable_mime_keeps_its_bytes_as_an_attachment() {
        let mut raw = String::from("Subject: deep\r\n");
        for i in 0..150 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}z\r\n\r\n--b{i}z\r\n"
            ));
        }
        raw.push_str("\r\nbottom\r\n");
        let m = Message::from_raw(raw.clone().into_bytes());
        assert!(m.body().error.is_some());
        let start = raw.find("\r\n\r\n").unwrap() + 4;
        assert_eq!(m.body().attachments.len(), 1);
        assert_eq!(m.body().attachments[0].data, raw.as_bytes()[start..]);
        // A multipart whose boundary never occurs keeps its body, as a part of its type.
        let m = Message::from_raw(
            b"Content-Type: multipart/mixed; boundary=nowhere\r\n\r\nHi there.\r\n".to_vec(),
        );
        assert_eq!(m.body().attachments.len(), 1);
        assert_eq!(m.body().attachments[0].data, b"Hi there.\r\n");
    }
}
