//! The message model: a message as read from the server, decoded lazily with mailparse.
//!
//! Headers are decoded on first access of any header field, the MIME body on first access of
//! the text, HTML or attachments; both are cached. A message whose MIME cannot be decoded is
//! still returned: its raw source stays available and `body_error` says what went wrong.

use std::sync::OnceLock;

use super::pool::ReturnTo;

mod body;
mod dates;
mod decode;
mod headers;

use body::decode_body;
use headers::{decode_header, with_parsed_headers};

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
    /// The buffer holding the message's bytes, at `at` (the buffer the server's response was
    /// read into, when the message kept it rather than being copied out of it).
    buffer: Vec<u8>,
    at: std::ops::Range<usize>,
    header: OnceLock<HeaderInfo>,
    /// Every header field decoded, apart from `header`: most hosts never ask for other fields,
    /// and decoding every Received and DKIM line would cost them as much as the rest.
    fields: OnceLock<Vec<(String, String)>>,
    body: OnceLock<BodyInfo>,
    /// Where `buffer` goes when the message is freed (see [`crate::core::pool`]).
    return_to: ReturnTo,
}

impl Drop for Message {
    fn drop(&mut self) {
        self.return_to.give_back(std::mem::take(&mut self.buffer));
    }
}

impl Message {
    /// Builds a message from what the server sent. `raw` is the whole message, or only its
    /// header block when `headers_only`.
    pub fn new(
        uid: u32,
        flags: u32,
        keywords: Vec<String>,
        size: u64,
        raw: Vec<u8>,
        headers_only: bool,
    ) -> Message {
        Message {
            uid,
            flags,
            keywords,
            size,
            headers_only,
            folder: String::new(),
            at: 0..raw.len(),
            buffer: raw,
            header: OnceLock::new(),
            fields: OnceLock::new(),
            body: OnceLock::new(),
            return_to: ReturnTo::default(),
        }
    }

    /// The message with its bytes at `at` in `buffer` (which may hold more: the server's
    /// response they came in) instead of those given to [`Message::new`], giving `buffer` back
    /// to that pool when freed.
    pub fn stored_in(
        mut self,
        buffer: Vec<u8>,
        at: std::ops::Range<usize>,
        return_to: ReturnTo,
    ) -> Message {
        self.buffer = buffer;
        self.at = at;
        self.return_to = return_to;
        self
    }

    /// Bytes of the buffer that holds the message's bytes.
    #[cfg(test)]
    pub(crate) fn storage_capacity(&self) -> usize {
        self.buffer.capacity()
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
        self.buffer.get(self.at.clone()).unwrap_or_default()
    }

    /// Decoded header fields (computed on first use).
    pub fn header(&self) -> &HeaderInfo {
        self.header.get_or_init(|| decode_header(self.source()))
    }

    /// Decoded body (computed on first use). Empty for a headers-only message.
    pub fn body(&self) -> &BodyInfo {
        self.body.get_or_init(|| {
            if self.headers_only {
                BodyInfo::default()
            } else {
                decode_body(self.source())
            }
        })
    }

    /// Every header field as (name, RFC 2047-decoded value), in order (computed on first use).
    pub fn header_fields(&self) -> &[(String, String)] {
        self.fields.get_or_init(|| {
            with_parsed_headers(self.source(), |headers| {
                headers
                    .iter()
                    .map(|h| (h.get_key(), h.get_value()))
                    .collect()
            })
        })
    }

    /// The first header of that name (case-insensitive), RFC 2047-decoded.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.header_fields()
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
