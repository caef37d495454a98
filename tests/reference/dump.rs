//! Reads each message file named on the command line through the C accessors (no server:
//! the handle is made from the file's bytes) and prints one JSON object per line with the
//! fields tests/reference/compare.py checks against Python's email package.

use std::ffi::{c_char, CStr};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use imapmail::ffi::message::*;
use imapmail::ffi::session::testing::message_from_raw;

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: imapmail returns NUL-terminated strings owned by the live message.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn recipients(m: *const EmailMessage, kind: i32) -> Vec<String> {
    (0..email_message_recipient_count(m, kind))
        .map(|i| text(email_message_recipient_address(m, kind, i)))
        .collect()
}

fn dump(path: &str) -> Value {
    let raw = match std::fs::read(path) {
        Ok(raw) => raw,
        Err(e) => return json!({ "file": path, "read_error": e.to_string() }),
    };
    let m = message_from_raw(raw);
    let mut attachments = Vec::new();
    for i in 0..email_message_attachment_count(m) {
        let mut len = 0usize;
        // SAFETY: `len` is writable.
        let p = unsafe { email_attachment_data(m, i, &mut len) };
        let data: &[u8] = if p.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: imapmail returns `len` readable bytes owned by the live message.
            unsafe { std::slice::from_raw_parts(p, len) }
        };
        // Text is compared as the text fields are (tests/reference/compare.py): CRLF as LF,
        // the blanks at line ends removed (RFC 2045 6.7 has decoders delete them).
        let text_form: Vec<u8> = data
            .split(|&b| b == b'\n')
            .map(|line| {
                let end = line
                    .iter()
                    .rposition(|&b| !matches!(b, b' ' | b'\t' | b'\r'))
                    .map_or(0, |i| i + 1);
                &line[..end]
            })
            .collect::<Vec<_>>()
            .join(&b'\n');
        attachments.push(json!({
            "sha256_text": format!("{:x}", Sha256::digest(&text_form)),
            "name": text(email_attachment_name(m, i)),
            "type": text(email_attachment_content_type(m, i)),
            "inline": email_attachment_is_inline(m, i) == 1,
            "size": data.len(),
            "sha256": format!("{:x}", Sha256::digest(data)),
        }));
    }
    let out = json!({
        "file": path,
        "subject": text(email_message_subject(m)),
        "from": text(email_message_sender_address(m)),
        "from_name": text(email_message_sender_name(m)),
        "to": recipients(m, EMAIL_TO),
        "cc": recipients(m, EMAIL_CC),
        "timestamp": email_message_timestamp(m),
        "message_id": text(email_message_message_id(m)),
        "text": text(email_message_text(m)),
        "html": text(email_message_html(m)),
        "attachments": attachments,
        "error": email_message_error(m),
        "error_message": text(email_message_error_message(m)),
    });
    email_message_free(m);
    out
}

fn main() {
    for path in std::env::args().skip(1) {
        println!("{}", dump(&path));
    }
}
