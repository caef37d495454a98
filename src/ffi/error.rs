//! Status codes and error reporting: `email_last_error`, `email_last_error_message`,
//! `email_version`.

use crate::ffi::IntPtr;
use std::cell::RefCell;
use std::ffi::{c_char, CString};

use crate::ffi::util::{boundary, to_cstring};

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

/// The status of this thread's last call into imapmail: `EMAIL_OK` after a success, or the
/// error code of its failure. Use it after a function that returns NULL (for example
/// `email_start_session`). Calling this function, `email_last_error_message`,
/// `email_session_error*` or `email_version` does not change it.
#[no_mangle]
pub extern "C" fn email_last_error() -> IntPtr {
    boundary(EMAIL_ERR_INTERNAL, || {
        LAST_ERROR
            .try_with(|cell| {
                cell.try_borrow()
                    .map(|l| l.code)
                    .unwrap_or(EMAIL_ERR_INTERNAL)
            })
            .unwrap_or(EMAIL_ERR_INTERNAL)
    })
}

/// A description of this thread's last failure, in UTF-8 (`""` after a success). Never NULL.
/// Owned by imapmail: valid until this thread's next call into imapmail (other than the error
/// getters). Never contains a password or token.
#[no_mangle]
pub extern "C" fn email_last_error_message() -> *const c_char {
    boundary(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|cell| {
                cell.try_borrow()
                    .map(|l| l.message.as_ptr())
                    .unwrap_or(c"".as_ptr())
            })
            .unwrap_or(c"".as_ptr())
    })
}

/// The library version, e.g. "0.1.0". Static: never freed, valid for the life of the process.
#[no_mangle]
pub extern "C" fn email_version() -> *const c_char {
    const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// The message behind a status code ("EMAIL_ERR_TLS", ...), for logs. Static; never NULL
/// (an unknown code gives "EMAIL_ERR_UNKNOWN").
///
/// Only the lower 32 bits of `status` are read (every status fits in them), so the name is
/// right whether the host passes the intptr_t a function returned, a 4-byte integer whose
/// upper half the calling convention leaves unspecified, or a status whose upper half was
/// zero-filled.
#[no_mangle]
pub extern "C" fn email_status_name(status: IntPtr) -> *const c_char {
    // Truncation on purpose: see above.
    let name: &'static std::ffi::CStr = match status as i32 as isize {
        EMAIL_OK => c"EMAIL_OK",
        EMAIL_OUT => c"EMAIL_OUT",
        EMAIL_ERR_ARGUMENT => c"EMAIL_ERR_ARGUMENT",
        EMAIL_ERR_HANDLE => c"EMAIL_ERR_HANDLE",
        EMAIL_ERR_CONNECT => c"EMAIL_ERR_CONNECT",
        EMAIL_ERR_TLS => c"EMAIL_ERR_TLS",
        EMAIL_ERR_AUTH => c"EMAIL_ERR_AUTH",
        EMAIL_ERR_SERVER => c"EMAIL_ERR_SERVER",
        EMAIL_ERR_PROTOCOL => c"EMAIL_ERR_PROTOCOL",
        EMAIL_ERR_TIMEOUT => c"EMAIL_ERR_TIMEOUT",
        EMAIL_ERR_DISCONNECTED => c"EMAIL_ERR_DISCONNECTED",
        EMAIL_ERR_CANCELLED => c"EMAIL_ERR_CANCELLED",
        EMAIL_ERR_NOT_FOUND => c"EMAIL_ERR_NOT_FOUND",
        EMAIL_ERR_TOO_LARGE => c"EMAIL_ERR_TOO_LARGE",
        EMAIL_ERR_IO => c"EMAIL_ERR_IO",
        EMAIL_ERR_INTERNAL => c"EMAIL_ERR_INTERNAL",
        _ => c"EMAIL_ERR_UNKNOWN",
    };
    name.as_ptr()
}
