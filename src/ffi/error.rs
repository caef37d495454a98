//! Status codes and error reporting: `email_last_error`, `email_last_error_message`,
//! `email_version`.

use crate::ffi::IntPtr;
use std::ffi::c_char;

pub use crate::ffi::status::*;
use crate::ffi::status::{last_code, last_message};
use crate::ffi::util::boundary;

/// The status of this thread's last call into imapmail: `EMAIL_OK` after a success, or the
/// error code of its failure. Use it after a function that returns NULL (for example
/// `email_start_session`). Calling this function, `email_last_error_message`,
/// `email_session_error*` or `email_version` does not change it.
#[no_mangle]
pub extern "C" fn email_last_error() -> IntPtr {
    boundary(EMAIL_ERR_INTERNAL, last_code)
}

/// A description of this thread's last failure, in UTF-8 (`""` after a success). Never NULL.
/// Owned by imapmail: valid until this thread's next call into imapmail (other than the error
/// getters). Never contains a password or token.
#[no_mangle]
pub extern "C" fn email_last_error_message() -> *const c_char {
    boundary(c"".as_ptr(), last_message)
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
