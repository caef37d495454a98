//! The message model: a message as read from the server, decoded lazily with mailparse.
//!
//! Headers are decoded on first access of any header field, the MIME body on first access of
//! the text, HTML or attachments; both are cached. A message whose MIME cannot be decoded is
//! still returned: its raw source stays available and `body_error` says what went wrong.

use std::sync::OnceLock;

use mailparse::{MailHeader, MailHeaderMap, ParsedMail};

/// Flag bits of a message (the C API uses the same values).
pub mod flags {
    pub const SEEN: u32 = 1;
    pub const ANSWERED: u32 = 2;
    pub const FLAGGED: u32 = 4;
    pub const DELETED: u32 = 8;
    pub const DRAFT: u32 = 16;
}

/// A decoded address: display name (may be empty) and address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub address: String,
}

impl Address {
    /// "Name <addr>", or just the address when there is no name.
    pub fn display(&self) -> String {
        match (self.name.is_empty(), self.address.is_empty()) {
            (true, _) => self.address.clone(),
            (false, true) => self.name.clone(),
            (false, false) => format!("{} <{}>", self.name, self.address),
        }
    }
}

/// Which recipient list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecipientKind {
    To,
    Cc,
    Bcc,
    ReplyTo,
}

/// An attachment (or inline part, or attached message), with its decoded bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attachment {
    /// File name from RFC 2231 `filename*=`, `filename=` or the Content-Type `name=`; may be empty.
    pub name: String,
    /// Lower-case MIME type, e.g. "application/pdf".
    pub content_type: String,
    /// Content-ID without the angle brackets; empty when absent.
    pub content_id: String,
    /// Shown inside the body (Content-Disposition inline, or referenced by Content-ID).
    pub inline: bool,
    /// The decoded bytes.
    pub data: Vec<u8>,
}

/// Decoded header fields.
#[derive(Debug, Default)]
pub struct HeaderInfo {
    pub subject: String,
    pub from: Address,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    pub bcc: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub date: String,
    pub timestamp: i64,
    pub message_id: String,
    /// Every header as (name, RFC 2047-decoded value), in order.
    pub fields: Vec<(String, String)>,
}

/// Decoded body.
#[derive(Debug, Default)]
pub struct BodyInfo {
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// Set when the MIME structure could not be decoded; the rest is best effort.
    pub error: Option<String>,
}

/// One message as read from the server. Immutable once built; safe to share between threads.
#[derive(Debug)]
pub struct Message {
    uid: u32,
    flags: u32,
    keywords: Vec<String>,
    size: u64,
    headers_only: bool,
    /// The folder it was read from ("" when not read from a server).
    folder: String,
    raw: Vec<u8>,
    header: OnceLock<HeaderInfo>,
    body: OnceLock<BodyInfo>,
}

impl Message {
    /// Builds a message from what the server sent. `raw` is the whole message, or only its
    /// header block when `headers_only`.
    pub fn new(uid: u32, flags: u32, keywords: Vec<String>, size: u64, raw: Vec<u8>, headers_only: bool) -> Message {
        Message {
            uid,
            flags,
            keywords,
            size,
            headers_only,
            folder: String::new(),
            raw,
            header: OnceLock::new(),
            body: OnceLock::new(),
        }
    }

    /// Builds a message from raw RFC 5322 bytes alone (no server data).
    pub fn from_raw(raw: Vec<u8>) -> Message {
        let size = raw.len() as u64;
        Message::new(0, 0, Vec::new(), size, raw, false)
    }

    pub fn uid(&self) -> u32 {
        self.uid
    }
    /// The folder the message was read from.
    pub fn folder(&self) -> &str {
        &self.folder
    }
    /// Records the folder the message was read from.
    pub fn set_folder(&mut self, folder: &str) {
        self.folder = folder.to_string();
    }
    pub fn flags(&self) -> u32 {
        self.flags
    }
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }
    pub fn is_read(&self) -> bool {
        self.flags & flags::SEEN != 0
    }
    /// Size on the server (RFC822.SIZE), also when only the headers were fetched.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// True when only the header block was fetched.
    pub fn headers_only(&self) -> bool {
        self.headers_only
    }
    /// The bytes as received: the whole message, or the header block when headers only.
    pub fn source(&self) -> &[u8] {
        &self.raw
    }

    /// Decoded header fields (computed on first use).
    pub fn header(&self) -> &HeaderInfo {
        self.header.get_or_init(|| decode_header(&self.raw))
    }

    /// Decoded body (computed on first use). Empty for a headers-only message.
    pub fn body(&self) -> &BodyInfo {
        self.body.get_or_init(|| {
            if self.headers_only {
                BodyInfo::default()
            } else {
                decode_body(&self.raw)
            }
        })
    }

    /// The first header of that name (case-insensitive), RFC 2047-decoded.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.header()
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn recipients(&self, kind: RecipientKind) -> &[Address] {
        let h = self.header();
        match kind {
            RecipientKind::To => &h.to,
            RecipientKind::Cc => &h.cc,
            RecipientKind::Bcc => &h.bcc,
            RecipientKind::ReplyTo => &h.reply_to,
        }
    }
}

fn decode_header(raw: &[u8]) -> HeaderInfo {
    let headers = match mailparse::parse_headers(raw) {
        Ok((h, _)) => h,
        Err(_) => return HeaderInfo::default(),
    };
    let mut info = HeaderInfo {
        fields: headers.iter().map(|h| (h.get_key(), h.get_value())).collect(),
        ..HeaderInfo::default()
    };
    info.subject = headers.get_first_value("Subject").unwrap_or_default();
    info.from = addresses(&headers, "From").into_iter().next().unwrap_or_default();
    if info.from.address.is_empty() && info.from.name.is_empty() {
        info.from = addresses(&headers, "Sender").into_iter().next().unwrap_or_default();
    }
    info.to = addresses(&headers, "To");
    info.cc = addresses(&headers, "Cc");
    info.bcc = addresses(&headers, "Bcc");
    info.reply_to = addresses(&headers, "Reply-To");
    info.date = headers.get_first_value("Date").map(|d| d.trim().to_string()).unwrap_or_default();
    info.timestamp = if info.date.is_empty() {
        0
    } else {
        mailparse::dateparse(&info.date).unwrap_or(0)
    };
    info.message_id = headers
        .get_first_value("Message-ID")
        .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').trim().to_string())
        .unwrap_or_default();
    info
}

fn addresses(headers: &[MailHeader<'_>], name: &str) -> Vec<Address> {
    let Some(header) = headers.get_first_header(name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match mailparse::addrparse_header(header) {
        Ok(list) => {
            for addr in list.iter() {
                match addr {
                    mailparse::MailAddr::Single(s) => out.push(single(s)),
                    mailparse::MailAddr::Group(g) => out.extend(g.addrs.iter().map(single)),
                }
            }
        }
        Err(_) => {
            // Unparseable address header: keep the decoded text rather than losing it.
            let text = header.get_value().trim().to_string();
            if !text.is_empty() {
                let address = text
                    .rsplit_once('<')
                    .and_then(|(_, a)| a.split_once('>'))
                    .map(|(a, _)| a.trim().to_string())
                    .unwrap_or_else(|| text.clone());
                out.push(Address { name: String::new(), address });
            }
        }
    }
    out
}

fn single(s: &mailparse::SingleInfo) -> Address {
    Address {
        name: s.display_name.clone().unwrap_or_default().trim().to_string(),
        address: s.addr.trim().to_string(),
    }
}

fn decode_body(raw: &[u8]) -> BodyInfo {
    match mailparse::parse_mail(raw) {
        Ok(mail) => {
            let mut body = BodyInfo::default();
            walk(&mail, &mut body, false);
            body
        }
        Err(e) => {
            // Too deep or otherwise undecodable: keep the bytes after the header block as text.
            let start = find_body_start(raw);
            BodyInfo {
                text: String::from_utf8_lossy(&raw[start..]).into_owned(),
                error: Some(format!("MIME structure could not be decoded: {e}")),
                ..BodyInfo::default()
            }
        }
    }
}

fn find_body_start(raw: &[u8]) -> usize {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => raw.len(),
    }
}

fn walk(part: &ParsedMail<'_>, body: &mut BodyInfo, in_alternative: bool) {
    let mime = part.ctype.mimetype.as_str();
    if mime.starts_with("multipart/") {
        let alt = mime == "multipart/alternative";
        if part.subparts.is_empty() {
            // A multipart without parts (e.g. no boundary found): treat its body as text.
            if body.text.is_empty() {
                body.text = part.get_body().unwrap_or_default();
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
    let is_attachment_disposition = disposition.disposition == mailparse::DispositionType::Attachment;
    let content_id = part
        .headers
        .get_first_value("Content-ID")
        .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .unwrap_or_default();
    let is_text = mime == "text/plain" || mime == "text/html";
    if is_text && !is_attachment_disposition && filename.is_empty() {
        let text = part.get_body().unwrap_or_else(|_| String::from_utf8_lossy(&part.get_body_raw().unwrap_or_default()).into_owned());
        let target = if mime == "text/html" { &mut body.html } else { &mut body.text };
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
    let data = part.get_body_raw().unwrap_or_else(|_| part.get_body_encoded_raw().to_vec());
    let name = if filename.is_empty() && mime == "message/rfc822" {
        attached_message_name(&data)
    } else {
        filename
    };
    // mailparse reports "inline" when there is no Content-Disposition at all: then a part is
    // inline only when the body refers to it by Content-ID.
    let has_disposition = part.headers.get_first_header("Content-Disposition").is_some();
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

trait RawBody {
    fn get_body_encoded_raw(&self) -> &[u8];
}

impl RawBody for ParsedMail<'_> {
    fn get_body_encoded_raw(&self) -> &[u8] {
        match self.get_body_encoded() {
            mailparse::body::Body::Base64(b) | mailparse::body::Body::QuotedPrintable(b) => b.get_raw(),
            mailparse::body::Body::SevenBit(b) | mailparse::body::Body::EightBit(b) => b.get_raw(),
            mailparse::body::Body::Binary(b) => b.get_raw(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            raw.push_str(&format!("Content-Type: multipart/mixed; boundary=b{i}z\r\n\r\n--b{i}z\r\n"));
        }
        raw.push_str("\r\nbottom\r\n");
        let m = Message::from_raw(raw.into_bytes());
        assert_eq!(m.header().subject, "deep");
        assert!(m.body().error.is_some());
        assert!(m.body().text.contains("bottom"));
    }
}
