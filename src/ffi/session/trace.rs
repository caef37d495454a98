//! The protocol trace of a session: `email_set_trace_callback` (the `trace_file` option of
//! `email_start_session_ex` is the other way in).

use crate::ffi::IntPtr;
use std::ffi::c_void;

use crate::core::trace::{Direction, TraceCallback};
use crate::ffi::error::EMAIL_OK;
use crate::ffi::session::{with_session, EmailSession, UserData};
use crate::ffi::util::status_call;

/// Trace direction: a line imapmail sent to the server.
pub const EMAIL_TRACE_SENT: i32 = 0;
/// Trace direction: a line received from the server.
pub const EMAIL_TRACE_RECEIVED: i32 = 1;

/// Trace callback: called with the direction (`EMAIL_TRACE_SENT` or `EMAIL_TRACE_RECEIVED`),
/// one protocol line (`len` bytes, without CRLF, not NUL-terminated, valid only during the call)
/// and the `user_data` given to `email_set_trace_callback`. Credentials never reach it: LOGIN
/// arguments and AUTHENTICATE payloads are replaced by `<redacted>`, and literal data (message
/// bodies) by a line `[literal: N bytes]`. It may be called from a library thread (reading
/// ahead), never from two threads at once for one session; it must not call imapmail functions
/// on the same session.
pub type EmailTraceCallback =
    Option<extern "C" fn(direction: i32, line: *const u8, len: usize, user_data: *mut c_void)>;

/// Sets (or, with a NULL callback, removes) the session's protocol trace callback. It applies
/// from the next byte sent or received on (the login is traced only by the `trace_file` option,
/// set before the session starts).
///
/// Returns `EMAIL_OK` or `EMAIL_ERR_HANDLE`.
#[no_mangle]
pub extern "C" fn email_set_trace_callback(
    s: *mut EmailSession,
    callback: EmailTraceCallback,
    user_data: *mut c_void,
) -> IntPtr {
    status_call(|| {
        let data = UserData(user_data);
        with_session(s, move |session| {
            session.set_trace_callback(callback.map(|cb| {
                let data = data;
                Box::new(move |direction: Direction, line: &[u8]| {
                    let d = match direction {
                        Direction::Sent => EMAIL_TRACE_SENT,
                        Direction::Received => EMAIL_TRACE_RECEIVED,
                    };
                    cb(d, line.as_ptr(), line.len(), data.get());
                }) as TraceCallback
            }));
            Ok(EMAIL_OK)
        })
    })
}
