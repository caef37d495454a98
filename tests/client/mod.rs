//! The client side of the tests that drive the C API against scripted servers
//! (tests/hostile/server.rs): starting a session on 127.0.0.1, reading a folder, text of C
//! strings. Included with `#[path = "client/mod.rs"] mod client;`.
#![allow(dead_code)]

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use imapmail::ffi::error::*;
use imapmail::ffi::message::*;
use imapmail::ffi::session::*;

/// The text of a C string the library returned ("" for NULL).
pub fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Starts a plain-IMAP session as joe/secret on 127.0.0.1:`port` with these options (after
/// a 5 s `timeout_ms`); panics with the library's message when it fails.
pub fn start_plain(port: u16, options: &str) -> *mut EmailSession {
    let (h, u, p) = (
        CString::new("127.0.0.1").unwrap(),
        CString::new("joe").unwrap(),
        CString::new("secret").unwrap(),
    );
    let o = CString::new(format!("timeout_ms=5000;{options}")).unwrap();
    let s = unsafe {
        email_start_session_ex(
            h.as_ptr(),
            port,
            u.as_ptr(),
            p.as_ptr(),
            EMAIL_SECURITY_NONE,
            o.as_ptr(),
        )
    };
    assert!(!s.is_null(), "{}", text(email_last_error_message()));
    s
}

/// Reads the folder with read_first/read_next: the status that ended the read and the
/// subjects handed out, in order.
pub fn read_subjects(s: *mut EmailSession, flags: u32) -> (isize, Vec<String>) {
    let mut got = Vec::new();
    let mut m: *mut EmailMessage = ptr::null_mut();
    let mut rc = unsafe { email_read_first(s, flags, &mut m) };
    while rc == EMAIL_OK {
        got.push(text(email_message_subject(m)));
        email_message_free(m);
        rc = unsafe { email_read_next(s, &mut m) };
    }
    (rc, got)
}

/// "Message 1" ... "Message n": the subjects of `server::mail` messages numbered from 1.
pub fn numbered(n: u32) -> Vec<String> {
    (1..=n).map(|i| format!("Message {i}")).collect()
}
