//! The status codes every function reports, and this thread's record of its last call
//! (read by `email_last_error` and `email_last_error_message` in error.rs).

use std::cell::RefCell;
use std::ffi::{c_char, CString};

/// Success.
pub const EMAIL_OK: isize = 0;
/// No more messages (WINDEV's Out): the iteration is over, or the folder has none.
pub const EMAIL_OUT: isize = 1;
/// An argument is NULL, malformed, out of range, or contains CR/LF/NUL.
pub const EMAIL_ERR_ARGUMENT: isize = -1;
/// A handle is NULL, already freed or closed, or was not made by imapmail.
pub const EMAIL_ERR_HANDLE: isize = -2;
/// The TCP connection could not be made (name resolution, refused, unreachable).
pub const EMAIL_ERR_CONNECT: isize = -3;
/// TLS failed: untrusted or mismatched certificate, handshake failure, STARTTLS unavailable.
pub const EMAIL_ERR_TLS: isize = -4;
/// The server refused the credentials, or no permitted login method exists.
pub const EMAIL_ERR_AUTH: isize = -5;
/// The server answered NO or BAD.
pub const EMAIL_ERR_SERVER: isize = -6;
/// The server sent something unparseable or over a limit. Tolerance: a bare LF is accepted
/// wherever CRLF is due, and a complete untagged response that does not parse is skipped (noted
/// in the trace); when it was the very answer a call needed, that call fails with this status
/// and the session stays usable. Only a broken frame (a literal cut short, a line, nesting or
/// answer over its limit), a wrong tag or a line that is neither untagged nor a continuation
/// ends the session (later calls: `EMAIL_ERR_DISCONNECTED`). See docs/reliability.md.
pub const EMAIL_ERR_PROTOCOL: isize = -7;
/// The server did not answer within `timeout_ms`.
pub const EMAIL_ERR_TIMEOUT: isize = -8;
/// The connection is lost; close the session and start a new one.
pub const EMAIL_ERR_DISCONNECTED: isize = -9;
/// The host cancelled the operation (progress callback).
pub const EMAIL_ERR_CANCELLED: isize = -10;
/// The folder, message or item does not exist.
pub const EMAIL_ERR_NOT_FOUND: isize = -11;
/// Something is larger than a configured limit.
pub const EMAIL_ERR_TOO_LARGE: isize = -12;
/// A local I/O failure (writing a file, reading `ca_file`).
pub const EMAIL_ERR_IO: isize = -13;
/// An internal error (a bug, caught before it could reach the host).
pub const EMAIL_ERR_INTERNAL: isize = -99;

struct LastError {
    code: isize,
    message: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError { code: EMAIL_OK, message: CString::default() });
}

/// Records the outcome of this thread's last call.
pub(crate) fn set_last_error(code: isize, message: &str) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut last) = cell.try_borrow_mut() {
            last.code = code;
            last.message = to_cstring(message);
        }
    });
}

/// This thread's last status (`EMAIL_ERR_INTERNAL` when the record cannot be read).
pub(crate) fn last_code() -> isize {
    LAST_ERROR
        .try_with(|cell| {
            cell.try_borrow()
                .map(|l| l.code)
                .unwrap_or(EMAIL_ERR_INTERNAL)
        })
        .unwrap_or(EMAIL_ERR_INTERNAL)
}

/// This thread's last message; valid until this thread's next recorded call.
pub(crate) fn last_message() -> *const c_char {
    LAST_ERROR
        .try_with(|cell| {
            cell.try_borrow()
                .map(|l| l.message.as_ptr())
                .unwrap_or(c"".as_ptr())
        })
        .unwrap_or(c"".as_ptr())
}

/// A C string for text that may contain NUL (replaced by U+FFFD so nothing is cut silently).
pub(crate) fn to_cstring(s: &str) -> CString {
    match CString::new(s) {
        Ok(c) => c,
        Err(_) => CString::new(s.replace('\0', "\u{FFFD}")).unwrap_or_default(),
    }
}
