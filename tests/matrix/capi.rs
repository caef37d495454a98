//! Thin helpers over the exported C functions, shared by the matrix, quirk, transcript and
//! broken-mail tests: start a session, read a folder, and copy everything a message exposes
//! through the C accessors into plain Rust values.
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use imapmail::ffi::error::*;
use imapmail::ffi::list::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;

pub fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

/// A C string returned by imapmail as an owned String (None for NULL). Panics when it is not
/// UTF-8: every string imapmail hands out must be.
pub fn text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(
            unsafe { CStr::from_ptr(p) }
                .to_str()
                .expect("imapmail returned a string that is not UTF-8")
                .to_string(),
        )
    }
}

pub fn last_message() -> String {
    text(email_last_error_message()).unwrap_or_default()
}

/// Starts a session on 127.0.0.1; Err((status, message)) on failure.
pub fn start(
    port: u16,
    user: &str,
    password: &str,
    flags: u32,
    options: &str,
) -> Result<*mut EmailSession, (isize, String)> {
    let (h, u, p, o) = (cstr("127.0.0.1"), cstr(user), cstr(password), cstr(options));
    let s = unsafe {
        email_start_session_ex(h.as_ptr(), port, u.as_ptr(), p.as_ptr(), flags, o.as_ptr())
    };
    if s.is_null() {
        Err((email_last_error(), last_message()))
    } else {
        assert_eq!(email_last_error(), EMAIL_OK);
        Ok(s)
    }
}

pub fn close(s: *mut EmailSession) {
    assert_eq!(
        email_close_session(s),
        EMAIL_OK,
        "close: {}",
        last_message()
    );
}

/// One attachment as seen through the C accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Att {
    pub name: String,
    pub content_type: String,
    pub content_id: String,
    pub inline: bool,
    pub data: Vec<u8>,
}

/// Everything a message exposes through the C accessors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub uid: u32,
    pub flags: u32,
    pub size: u64,
    pub subject: String,
    pub sender: String,
    pub sender_address: String,
    pub sender_name: String,
    pub to: Vec<(String, String)>,
    pub cc: Vec<(String, String)>,
    pub date: String,
    pub timestamp: i64,
    pub message_id: String,
    pub text: String,
    pub html: String,
    pub source: Vec<u8>,
    pub error: isize,
    pub error_message: String,
    pub keywords: Vec<String>,
    pub attachments: Vec<Att>,
}

impl Msg {
    pub fn seen(&self) -> bool {
        self.flags & EMAIL_FLAG_SEEN != 0
    }
}

fn recipients(m: *const EmailMessage, kind: i32) -> Vec<(String, String)> {
    (0..email_message_recipient_count(m, kind))
        .map(|i| {
            (
                text(email_message_recipient_name(m, kind, i)).expect("name in range"),
                text(email_message_recipient_address(m, kind, i)).expect("address in range"),
            )
        })
        .collect()
}

/// Copies a message out through every C accessor (each string must be non-NULL UTF-8).
pub fn snapshot(m: *const EmailMessage) -> Msg {
    assert!(!m.is_null());
    let s = |p: *const c_char, what: &str| text(p).unwrap_or_else(|| panic!("{what} is NULL"));
    let mut len = 0usize;
    let src = unsafe { email_message_source(m, &mut len) };
    let source = if src.is_null() || len == 0 {
        Vec::new()
    } else {
        unsafe { std::slice::from_raw_parts(src, len) }.to_vec()
    };
    let attachments = (0..email_message_attachment_count(m))
        .map(|i| {
            let mut len = 0usize;
            let d = unsafe { email_attachment_data(m, i, &mut len) };
            Att {
                name: s(email_attachment_name(m, i), "attachment name"),
                content_type: s(email_attachment_content_type(m, i), "attachment type"),
                content_id: s(email_attachment_content_id(m, i), "attachment id"),
                inline: email_attachment_is_inline(m, i) == 1,
                data: if d.is_null() || len == 0 {
                    Vec::new()
                } else {
                    unsafe { std::slice::from_raw_parts(d, len) }.to_vec()
                },
            }
        })
        .collect();
    Msg {
        uid: email_message_uid(m),
        flags: email_message_flags(m),
        size: email_message_size(m),
        subject: s(email_message_subject(m), "subject"),
        sender: s(email_message_sender(m), "sender"),
        sender_address: s(email_message_sender_address(m), "sender address"),
        sender_name: s(email_message_sender_name(m), "sender name"),
        to: recipients(m, EMAIL_TO),
        cc: recipients(m, EMAIL_CC),
        date: s(email_message_date(m), "date"),
        timestamp: email_message_timestamp(m),
        message_id: s(email_message_message_id(m), "message id"),
        text: s(email_message_text(m), "text"),
        html: s(email_message_html(m), "html"),
        source,
        error: email_message_error(m),
        error_message: s(email_message_error_message(m), "error message"),
        keywords: (0..email_message_keyword_count(m))
            .map(|i| s(email_message_keyword(m, i), "keyword"))
            .collect(),
        attachments,
    }
}

/// Reads the selected folder with read_first/read_next; Err((status, message, read so far))
/// when the iteration ends with an error.
pub fn try_read_all(
    s: *mut EmailSession,
    flags: u32,
) -> Result<Vec<Msg>, (isize, String, Vec<Msg>)> {
    let mut out = Vec::new();
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, flags, &mut m) };
    while rc == EMAIL_OK {
        assert!(!m.is_null());
        out.push(snapshot(m));
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    assert!(m.is_null(), "a message handed out with status {rc}");
    if rc == EMAIL_OUT {
        Ok(out)
    } else {
        Err((rc, last_message(), out))
    }
}

/// Reads the selected folder; panics on error.
pub fn read_all(s: *mut EmailSession, flags: u32) -> Vec<Msg> {
    try_read_all(s, flags).unwrap_or_else(|(rc, msg, _)| panic!("read failed with {rc}: {msg}"))
}

/// Reads the selected folder with email_get_all; Err((status, message)) on failure.
pub fn try_get_all(s: *mut EmailSession, flags: u32) -> Result<Vec<Msg>, (isize, String)> {
    let mut list: *mut EmailList = ptr::null_mut();
    let rc = unsafe { email_get_all(s, flags, &mut list) };
    if rc != EMAIL_OK {
        assert!(list.is_null());
        return Err((rc, last_message()));
    }
    let out = (0..email_list_count(list))
        .map(|i| snapshot(email_list_get(list, i)))
        .collect();
    email_list_free(list);
    Ok(out)
}

pub fn get_all(s: *mut EmailSession, flags: u32) -> Vec<Msg> {
    try_get_all(s, flags).unwrap_or_else(|(rc, msg)| panic!("get_all failed with {rc}: {msg}"))
}

/// Minimal SHA-256 (FIPS 180-4), to compare attachments with tests/corpus/expected.json
/// without another dependency.
pub fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}
