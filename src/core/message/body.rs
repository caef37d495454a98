//! The MIME body: the text and HTML bodies chosen, the other parts as attachments.

use mailparse::{MailHeaderMap, ParsedMail};

use super::decode::{decode_text_bytes, part_bytes, part_text};
use super::headers::{find_body_start, sanitize_header_block};
use super::{Attachment, BodyInfo};

pub(super) fn decode_body(raw: &[u8]) -> BodyInfo {
    let first = match mailparse::parse_mail(raw) {
        Ok(mail) => {
            let mut body = BodyInfo::default();
            walk(&mail, &mut body, false);
            return body;
        }
        Err(e) => e,
    };
    // A header block mailparse refuses: decode the message with a cleaned header block.
    let mut cleaned = sanitize_header_block(raw);
    cleaned.extend_from_slice(&raw[find_body_start(raw)..]);
    if let Ok(mail) = mailparse::parse_mail(&cleaned) {
        let mut body = BodyInfo::default();
        walk(&mail, &mut body, false);
        return body;
    }
    // Too deep or otherwise undecodable: keep the bytes after the header block as text.
    let start = find_body_start(raw);
    BodyInfo {
        text: decode_text_bytes(&raw[start..]),
        error: Some(format!("MIME structure could not be decoded: {first}")),
        ..BodyInfo::default()
    }
}

fn walk(part: &ParsedMail<'_>, body: &mut BodyInfo, in_alternative: bool) {
    let mime = part.ctype.mimetype.as_str();
    if mime.starts_with("multipart/") {
        let alt = mime == "multipart/alternative";
        if part.subparts.is_empty() {
            // A multipart without parts (e.g. no boundary found): treat its body as text.
            if body.text.is_empty() {
                body.text = part_text(part);
            }
            return;
        }
        for sub in &part.subparts {
            walk(sub, body, alt || in_alternative);
        }
        return;
    }
    let disposition = part.get_content_disposition();
    let filename = disposition
        .params
        .get("filename")
        .or_else(|| part.ctype.params.get("name"))
        .cloned()
        .unwrap_or_default();
    let is_attachment_disposition =
        disposition.disposition == mailparse::DispositionType::Attachment;
    let content_id = part
        .headers
        .get_first_value("Content-ID")
        .map(|v| {
            v.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
        .unwrap_or_default();
    let is_text = mime == "text/plain" || mime == "text/html";
    if is_text && !is_attachment_disposition && filename.is_empty() {
        let text = part_text(part);
        let target = if mime == "text/html" {
            &mut body.html
        } else {
            &mut body.text
        };
        if target.is_empty() {
            *target = text;
            return;
        }
        if !in_alternative {
            // Further inline text parts of a mixed message belong to the body too.
            target.push('\n');
            target.push_str(&text);
            return;
        }
    }
    let data = part_bytes(part);
    let name = if filename.is_empty() && mime == "message/rfc822" {
        attached_message_name(&data)
    } else {
        filename
    };
    // mailparse reports "inline" when there is no Content-Disposition at all: then a part is
    // inline only when the body refers to it by Content-ID.
    let has_disposition = part
        .headers
        .get_first_header("Content-Disposition")
        .is_some();
    let inline = match disposition.disposition {
        mailparse::DispositionType::Inline if has_disposition => true,
        mailparse::DispositionType::Attachment => false,
        _ => !content_id.is_empty(),
    };
    body.attachments.push(Attachment {
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
}
