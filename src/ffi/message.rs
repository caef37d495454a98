//! `EmailMessage`: the accessors of a message and its attachments.
//!
//! Strings are UTF-8 and NUL-terminated, owned by the message and valid until it is freed
//! (or, for a message borrowed from a list, until the list is freed). A string that the message
//! lacks is `""`. An out-of-range index gives NULL (or 0). An invalid message handle gives NULL
//! (or 0) and sets `email_last_error()` to `EMAIL_ERR_HANDLE`.

use std::collections::HashMap;
use std::ffi::{c_char, CString};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use crate::core::message::RecipientKind;
use crate::core::{self, files};
use crate::ffi::status::{set_last_error, EMAIL_ERR_HANDLE, EMAIL_ERR_PROTOCOL, EMAIL_OK};
use crate::ffi::util::{
    arg_str, boundary, lock, status_call, to_cstring, Failure, Owner, Registry,
};

/// The message has been read (\Seen).
pub const EMAIL_FLAG_SEEN: u32 = 1;
/// The message has been answered (\Answered).
pub const EMAIL_FLAG_ANSWERED: u32 = 2;
/// The message is flagged for attention (\Flagged).
pub const EMAIL_FLAG_FLAGGED: u32 = 4;
/// The message is marked for deletion (\Deleted).
pub const EMAIL_FLAG_DELETED: u32 = 8;
/// The message is a draft (\Draft).
pub const EMAIL_FLAG_DRAFT: u32 = 16;

/// Recipient list: To.
pub const EMAIL_TO: i32 = 0;
/// Recipient list: Cc.
pub const EMAIL_CC: i32 = 1;
/// Recipient list: Bcc (present only in messages that kept it, e.g. sent mail).
pub const EMAIL_BCC: i32 = 2;
/// Recipient list: Reply-To.
pub const EMAIL_REPLY_TO: i32 = 3;

/// One message (opaque, immutable). Owned by the host when it came from `email_read_first` or
/// `email_read_next` (free it with `email_message_free`), or borrowed from an `EmailList`.
/// Safe to read from several threads at once.
pub struct EmailMessage {
    msg: core::Message,
    /// The whole message, once `email_message_load_body` fetched it for a headers-only read.
    full: OnceLock<core::Message>,
    /// C strings handed out, kept until the message is freed so their pointers stay valid.
    /// Keyed also by whether they came from `full`, so loading never frees a string handed out.
    strings: Mutex<HashMap<(bool, Key), CString>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Subject,
    Sender,
    SenderAddress,
    SenderName,
    Date,
    MessageId,
    Text,
    Html,
    RecipientAddress(i32, usize),
    RecipientName(i32, usize),
    Header(String),
    AttachmentName(usize),
    AttachmentType(usize),
    AttachmentId(usize),
    Keyword(usize),
    Error,
}

static MESSAGES: Registry<EmailMessage> = Registry::new();

pub(crate) fn new_shared(msg: core::Message) -> Arc<EmailMessage> {
    Arc::new(EmailMessage {
        msg,
        full: OnceLock::new(),
        strings: Mutex::new(HashMap::new()),
    })
}

/// A new host-owned message handle.
pub(crate) fn into_handle(msg: core::Message) -> *mut EmailMessage {
    MESSAGES.insert(new_shared(msg), Owner::Host)
}

/// Registers a message that a container owns (so accessors accept it, and free refuses it).
pub(crate) fn register_borrowed(m: &Arc<EmailMessage>, owner: Owner) {
    MESSAGES.insert_shared(m, owner);
}

/// Forgets a message registered by a container.
pub(crate) fn unregister(m: *const EmailMessage) {
    MESSAGES.remove_any(m);
}

impl EmailMessage {
    /// The message as far as it is known: the fetched whole when loaded, else what was read.
    fn current(&self) -> &core::Message {
        self.full.get().unwrap_or(&self.msg)
    }

    /// A pointer to a NUL-terminated copy of `make()`, made once and kept.
    fn intern(
        &self,
        key: Key,
        make: impl FnOnce(&core::Message) -> Option<String>,
    ) -> *const c_char {
        let key = (self.full.get().is_some(), key);
        let mut strings = lock(&self.strings);
        if let Some(c) = strings.get(&key) {
            return c.as_ptr();
        }
        match make(self.current()) {
            Some(s) => {
                let c = to_cstring(&s);
                let ptr = c.as_ptr();
                // The CString's heap buffer does not move when the map grows.
                strings.insert(key, c);
                ptr
            }
            None => std::ptr::null(),
        }
    }
}

/// Runs an accessor on a live message: `fallback` (and `EMAIL_ERR_HANDLE`) for an invalid one.
fn with_message<R>(m: *const EmailMessage, fallback: R, f: impl FnOnce(&EmailMessage) -> R) -> R {
    MESSAGES
        .get_recorded(m, "message")
        .map_or(fallback, |msg| f(&msg))
}

fn string_accessor(
    m: *const EmailMessage,
    key: Key,
    make: impl FnOnce(&core::Message) -> String,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(key, |core| Some(make(core)))
        })
    })
}

fn recipient_kind(kind: i32) -> Option<RecipientKind> {
    match kind {
        EMAIL_TO => Some(RecipientKind::To),
        EMAIL_CC => Some(RecipientKind::Cc),
        EMAIL_BCC => Some(RecipientKind::Bcc),
        EMAIL_REPLY_TO => Some(RecipientKind::ReplyTo),
        _ => None,
    }
}

/// Frees a message returned by `email_read_first` / `email_read_next`. NULL, an already freed
/// message, or a message borrowed from a list: nothing happens. A message outlives its session.
#[no_mangle]
pub extern "C" fn email_message_free(m: *mut EmailMessage) {
    boundary((), || {
        MESSAGES.remove_owned(m);
    })
}

/// The message's UID in its folder (0 for an invalid handle).
#[no_mangle]
pub extern "C" fn email_message_uid(m: *const EmailMessage) -> u32 {
    boundary(0, || with_message(m, 0, |msg| msg.current().uid()))
}

/// The message's flags as read: a combination of `EMAIL_FLAG_SEEN`, `EMAIL_FLAG_ANSWERED`,
/// `EMAIL_FLAG_FLAGGED`, `EMAIL_FLAG_DELETED`, `EMAIL_FLAG_DRAFT`.
#[no_mangle]
pub extern "C" fn email_message_flags(m: *const EmailMessage) -> u32 {
    boundary(0, || with_message(m, 0, |msg| msg.current().flags()))
}

/// 1 when the message was read (\Seen) when it was fetched, else 0.
#[no_mangle]
pub extern "C" fn email_message_is_read(m: *const EmailMessage) -> crate::ffi::IntPtr {
    boundary(0, || {
        with_message(m, 0, |msg| isize::from(msg.current().is_read()))
    })
}

/// The message's size in bytes on the server (RFC822.SIZE), also for headers-only reads.
#[no_mangle]
pub extern "C" fn email_message_size(m: *const EmailMessage) -> u64 {
    boundary(0, || with_message(m, 0, |msg| msg.current().size()))
}

/// The subject, decoded (RFC 2047) to UTF-8.
#[no_mangle]
pub extern "C" fn email_message_subject(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Subject, |c| c.header().subject.clone())
}

/// The sender as "Name <address>" (or just the address), decoded.
#[no_mangle]
pub extern "C" fn email_message_sender(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Sender, |c| c.header().from.display())
}

/// The sender's address, e.g. "bob@example.com".
#[no_mangle]
pub extern "C" fn email_message_sender_address(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::SenderAddress, |c| c.header().from.address.clone())
}

/// The sender's display name, decoded ("" when there is none).
#[no_mangle]
pub extern "C" fn email_message_sender_name(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::SenderName, |c| c.header().from.name.clone())
}

/// Number of recipients of a kind (`EMAIL_TO`, `EMAIL_CC`, `EMAIL_BCC`, `EMAIL_REPLY_TO`);
/// 0 for an unknown kind.
#[no_mangle]
pub extern "C" fn email_message_recipient_count(m: *const EmailMessage, kind: i32) -> usize {
    boundary(0, || {
        with_message(m, 0, |msg| {
            recipient_kind(kind).map_or(0, |k| msg.current().recipients(k).len())
        })
    })
}

/// The address of recipient `index` (0-based) of a kind; NULL when out of range.
#[no_mangle]
pub extern "C" fn email_message_recipient_address(
    m: *const EmailMessage,
    kind: i32,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(Key::RecipientAddress(kind, index), |c| {
                recipient_kind(kind)
                    .and_then(|k| c.recipients(k).get(index))
                    .map(|a| a.address.clone())
            })
        })
    })
}

/// The display name of recipient `index` of a kind ("" when none); NULL when out of range.
#[no_mangle]
pub extern "C" fn email_message_recipient_name(
    m: *const EmailMessage,
    kind: i32,
    index: usize,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(Key::RecipientName(kind, index), |c| {
                recipient_kind(kind)
                    .and_then(|k| c.recipients(k).get(index))
                    .map(|a| a.name.clone())
            })
        })
    })
}

/// The Date header as written in the message.
#[no_mangle]
pub extern "C" fn email_message_date(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Date, |c| c.header().date.clone())
}

/// The Date header as Unix seconds (UTC); 0 when absent or unparseable.
///
/// Read: RFC 5322 dates with or without seconds, and the obsolete forms of RFC 5322 4.3
/// (comments, folding, no day of week, two-digit years: 00-49 = 20xx, 50-99 = 19xx,
/// three-digit years + 1900, dates before 1970, the zone names UT/GMT/EST/EDT/CST/CDT/MST/
/// MDT/PST/PDT; any other alphabetic zone counts as UTC; one-letter military zones with
/// RFC 822's signs), and the common `2024-03-04 10:15:00[ +0100]`, ISO 8601 and asctime forms
/// (UTC when they have no zone). 0 for anything else (an unknown month, a year before 1900,
/// a malformed zone, out-of-range fields).
#[no_mangle]
pub extern "C" fn email_message_timestamp(m: *const EmailMessage) -> i64 {
    boundary(0, || {
        with_message(m, 0, |msg| msg.current().header().timestamp)
    })
}

/// The Message-ID, without its angle brackets (`email_message_header(m, "Message-ID")` gives
/// the header as written).
#[no_mangle]
pub extern "C" fn email_message_message_id(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::MessageId, |c| c.header().message_id.clone())
}

/// The first header named `name` (case-insensitive), RFC 2047-decoded; NULL when the message
/// has no such header (or `name` is NULL or not UTF-8).
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_message_header(
    m: *const EmailMessage,
    name: *const c_char,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        // SAFETY: contract of this function.
        let Ok(name) = (unsafe { arg_str(name, "name") }) else {
            set_last_error(
                crate::ffi::error::EMAIL_ERR_ARGUMENT,
                "name is NULL or not UTF-8",
            );
            return std::ptr::null();
        };
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(Key::Header(name.to_ascii_lowercase()), |c| {
                c.header_value(name).map(str::to_string)
            })
        })
    })
}

/// The plain-text body, converted to UTF-8 ("" when the message has none, or was read with
/// `EMAIL_READ_HEADERS`).
///
/// Which part is the body (the rule of Python's `get_body`, MimeKit's `TextBody` and RFC
/// 2046): the first `text/plain` part met in a depth-first walk of the MIME tree that skips
/// parts with `Content-Disposition: attachment`, does not enter attached messages
/// (`message/rfc822`), and enters only the root of a `multipart/related` (the part its
/// `start` parameter names, else the first). A file name alone does not make a text part an
/// attachment. One part only: further text parts are attachments (see
/// `email_message_attachment_count`). A multipart type without a boundary parameter is read
/// as `text/plain` (RFC 2045 5.2), as is any other invalid Content-Type.
#[no_mangle]
pub extern "C" fn email_message_text(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Text, |c| c.body().text.clone())
}

/// The HTML body, converted to UTF-8 ("" when none): the first `text/html` part, by the rule
/// of `email_message_text`.
#[no_mangle]
pub extern "C" fn email_message_html(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Html, |c| c.body().html.clone())
}

/// The raw RFC 5322 bytes as received (only the header block for `EMAIL_READ_HEADERS`); the
/// length goes to `*len` (when `len` is not NULL). Not NUL-terminated. Owned by the message.
///
/// # Safety
/// `len` must be NULL or point to writable storage for one size_t.
#[no_mangle]
pub unsafe extern "C" fn email_message_source(
    m: *const EmailMessage,
    len: *mut usize,
) -> *const u8 {
    boundary(std::ptr::null(), || {
        let (ptr, n) = with_message(m, (std::ptr::null(), 0), |msg| {
            let s = msg.current().source();
            (s.as_ptr(), s.len())
        });
        if !len.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { *len = n };
        }
        ptr
    })
}

/// `EMAIL_OK`, or `EMAIL_ERR_PROTOCOL` when the message's MIME structure could not be decoded
/// (its text is then best effort, the undecoded body is attachment 0, and
/// `email_message_source` has every byte);
/// `EMAIL_ERR_HANDLE` for an invalid handle.
#[no_mangle]
pub extern "C" fn email_message_error(m: *const EmailMessage) -> crate::ffi::IntPtr {
    boundary(EMAIL_ERR_HANDLE, || {
        with_message(m, EMAIL_ERR_HANDLE, |msg| {
            if msg.current().body().error.is_some() {
                EMAIL_ERR_PROTOCOL
            } else {
                EMAIL_OK
            }
        })
    })
}

/// Why the message could not be fully decoded ("" when it could).
#[no_mangle]
pub extern "C" fn email_message_error_message(m: *const EmailMessage) -> *const c_char {
    string_accessor(m, Key::Error, |c| {
        c.body().error.clone().unwrap_or_default()
    })
}

/// Number of keywords (user flags such as `$Forwarded`) set on the message.
#[no_mangle]
pub extern "C" fn email_message_keyword_count(m: *const EmailMessage) -> usize {
    boundary(0, || {
        with_message(m, 0, |msg| msg.current().keywords().len())
    })
}

/// Keyword `index` (0-based); NULL when out of range.
#[no_mangle]
pub extern "C" fn email_message_keyword(m: *const EmailMessage, index: usize) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(Key::Keyword(index), |c| c.keywords().get(index).cloned())
        })
    })
}

/// Number of attachments, inline parts (images referenced by Content-ID) and attached messages.
///
/// Every part of the message that is not its text or HTML body (see `email_message_text`),
/// in the message's order, except the other text renderings (`text/enriched`, ...) of a
/// `multipart/alternative` (e.g. text/enriched): further text parts of a mixed message (a
/// mailing list's footer), the non-root parts of a `multipart/related`, files, attached
/// messages, a message that is one non-text part. When the MIME structure cannot be decoded
/// (`email_message_error`), the undecoded body is attachment 0, "undecoded.bin", so that no
/// byte is lost.
#[no_mangle]
pub extern "C" fn email_message_attachment_count(m: *const EmailMessage) -> usize {
    boundary(0, || {
        with_message(m, 0, |msg| msg.current().body().attachments.len())
    })
}

fn attachment_string(
    m: *const EmailMessage,
    index: usize,
    key: Key,
    field: impl FnOnce(&core::Attachment) -> String,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_message(m, std::ptr::null(), |msg| {
            msg.intern(key, |c| c.body().attachments.get(index).map(field))
        })
    })
}

/// The attachment's file name (from RFC 2231 `filename*`, `filename` or `name`), decoded, as
/// the message gives it: it may contain anything, so never use it as a path (use
/// `email_attachment_save`). "" when it has none; NULL when `index` is out of range.
#[no_mangle]
pub extern "C" fn email_attachment_name(m: *const EmailMessage, index: usize) -> *const c_char {
    attachment_string(m, index, Key::AttachmentName(index), |a| a.name.clone())
}

/// The attachment's MIME type in lower case, e.g. "application/pdf"; NULL when out of range.
#[no_mangle]
pub extern "C" fn email_attachment_content_type(
    m: *const EmailMessage,
    index: usize,
) -> *const c_char {
    attachment_string(m, index, Key::AttachmentType(index), |a| {
        a.content_type.clone()
    })
}

/// The attachment's Content-ID without angle brackets ("" when none), as referenced by
/// `cid:` URLs in the HTML body; NULL when out of range.
#[no_mangle]
pub extern "C" fn email_attachment_content_id(
    m: *const EmailMessage,
    index: usize,
) -> *const c_char {
    attachment_string(m, index, Key::AttachmentId(index), |a| a.content_id.clone())
}

/// 1 when the part is shown inside the body (inline), 0 otherwise or out of range. Inline:
/// `Content-Disposition: inline`; or no Content-Disposition and either a Content-ID (an
/// image the HTML refers to with `cid:`) or a text type (`text/...`) without a file name (more text
/// of the message, shown in the body by mail readers).
#[no_mangle]
pub extern "C" fn email_attachment_is_inline(
    m: *const EmailMessage,
    index: usize,
) -> crate::ffi::IntPtr {
    boundary(0, || {
        with_message(m, 0, |msg| {
            msg.current()
                .body()
                .attachments
                .get(index)
                .map_or(0, |a| isize::from(a.inline))
        })
    })
}

/// The attachment's decoded bytes; the length goes to `*len` (when not NULL). Owned by the
/// message. NULL (and `*len = 0`) when out of range.
///
/// # Safety
/// `len` must be NULL or point to writable storage for one size_t.
#[no_mangle]
pub unsafe extern "C" fn email_attachment_data(
    m: *const EmailMessage,
    index: usize,
    len: *mut usize,
) -> *const u8 {
    boundary(std::ptr::null(), || {
        let (ptr, n) = with_message(m, (std::ptr::null(), 0), |msg| {
            match msg.current().body().attachments.get(index) {
                Some(a) if a.data.is_empty() => (b"".as_ptr(), 0),
                Some(a) => (a.data.as_ptr(), a.data.len()),
                None => (std::ptr::null(), 0),
            }
        });
        if !len.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { *len = n };
        }
        ptr
    })
}

/// Writes attachment `index` into the existing `directory` under its name made safe (no path
/// separators, no `..`, no control characters, no reserved Windows names; "attachment" when it
/// has no name). Never overwrites: when the name is taken, " (1)", " (2)", ... is added.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_ARGUMENT` (index out of range, NULL directory),
/// `EMAIL_ERR_NOT_FOUND` (no such directory), `EMAIL_ERR_IO` or `EMAIL_ERR_HANDLE`.
///
/// # Safety
/// `directory` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_attachment_save(
    m: *const EmailMessage,
    index: usize,
    directory: *const c_char,
) -> crate::ffi::IntPtr {
    status_call(|| {
        let msg = MESSAGES.get(m).ok_or_else(|| Failure::handle("message"))?;
        // SAFETY: contract of this function.
        let dir = unsafe { arg_str(directory, "directory") }?;
        // The loaded whole when `email_message_load_body` fetched it, as every accessor.
        let att = msg.current().body().attachments.get(index).ok_or_else(|| {
            Failure::argument(format!("attachment index {index} is out of range"))
        })?;
        files::save_new_file(Path::new(dir), &att.name, &att.data)?;
        Ok(EMAIL_OK)
    })
}

/// Fails with a handle error unless `m` is a live message.
pub(crate) fn require_live(m: *const EmailMessage) -> Result<(), Failure> {
    MESSAGES
        .get(m)
        .map(|_| ())
        .ok_or_else(|| Failure::handle("message"))
}

/// Gives a message read with `EMAIL_READ_HEADERS` its whole body, loaded by `load` (once: a
/// message already whole, or loaded before, is left as it is). For `email_message_load_body`.
pub(crate) fn load_body(
    m: *const EmailMessage,
    load: impl FnOnce(&core::Message) -> Result<core::Message, Failure>,
) -> Result<isize, Failure> {
    let msg = MESSAGES.get(m).ok_or_else(|| Failure::handle("message"))?;
    if msg.full.get().is_some() || !msg.msg.headers_only() {
        return Ok(EMAIL_OK);
    }
    let full = load(&msg.msg)?;
    let _ = msg.full.set(full);
    Ok(EMAIL_OK)
}
