//! Test hooks (not part of the API, not in the header): used by the fuzz targets to run the C
//! accessors over arbitrary message bytes.

use std::ffi::CStr;

use crate::core;
use crate::ffi::message::*;

/// A host-owned message handle made from raw RFC 5322 bytes (free it with
/// `email_message_free`): lets tests read mail through the C accessors without a server.
pub fn message_from_raw(raw: Vec<u8>) -> *mut EmailMessage {
    crate::ffi::message::into_handle(core::Message::from_raw(raw))
}

/// Makes a message handle from raw bytes, calls every C accessor on it (with in-range and
/// out-of-range indexes), touches every string returned, and frees it.
pub fn exercise_message_accessors(raw: Vec<u8>) {
    let m = message_from_raw(raw);
    let touch = |p: *const std::ffi::c_char| {
        if !p.is_null() {
            // SAFETY: imapmail returns NUL-terminated strings owned by the live message.
            let _ = unsafe { CStr::from_ptr(p) }.to_bytes().len();
        }
    };
    let _ = (
        email_message_uid(m),
        email_message_flags(m),
        email_message_is_read(m),
        email_message_size(m),
    );
    for p in [
        email_message_subject(m),
        email_message_sender(m),
        email_message_sender_address(m),
        email_message_sender_name(m),
        email_message_date(m),
        email_message_message_id(m),
        email_message_text(m),
        email_message_html(m),
        email_message_error_message(m),
    ] {
        touch(p);
    }
    let _ = (email_message_timestamp(m), email_message_error(m));
    for name in [c"Subject", c"from", c"X-Missing", c"Content-Type"] {
        // SAFETY: static NUL-terminated names.
        touch(unsafe { email_message_header(m, name.as_ptr()) });
    }
    for kind in [EMAIL_TO, EMAIL_CC, EMAIL_BCC, EMAIL_REPLY_TO, 7] {
        let n = email_message_recipient_count(m, kind);
        for i in 0..=n.min(50) {
            touch(email_message_recipient_address(m, kind, i));
            touch(email_message_recipient_name(m, kind, i));
        }
    }
    let n = email_message_keyword_count(m);
    for i in 0..=n {
        touch(email_message_keyword(m, i));
    }
    let mut len = 0usize;
    // SAFETY: `len` is writable.
    let _ = unsafe { email_message_source(m, &mut len) };
    let n = email_message_attachment_count(m);
    for i in 0..=n.min(200) {
        touch(email_attachment_name(m, i));
        touch(email_attachment_content_type(m, i));
        touch(email_attachment_content_id(m, i));
        let _ = email_attachment_is_inline(m, i);
        // SAFETY: `len` is writable.
        let p = unsafe { email_attachment_data(m, i, &mut len) };
        if !p.is_null() && len > 0 {
            // SAFETY: imapmail returns `len` readable bytes owned by the live message.
            let _ = unsafe { std::slice::from_raw_parts(p, len) }
                .iter()
                .fold(0u8, |a, b| a ^ b);
        }
    }
    email_message_free(m);
}
