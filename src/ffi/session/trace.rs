//! The protocol trace of a session: `email_session_trace_next` (the queue of the `trace_queue`
//! option) and `email_set_trace_callback` (the `trace_file` option of `email_start_session_ex`
//! is the other way out).

use crate::ffi::IntPtr;
use std::ffi::{c_char, c_void};

use crate::core::trace::{Direction, TraceCallback};
use crate::ffi::error::{EMAIL_OK, EMAIL_OUT};
use crate::ffi::session::{with_session, EmailSession, UserData, SESSIONS};
use crate::ffi::util::{status_call, Failure};

/// Trace direction: a line imapmail sent to the server.
pub const EMAIL_TRACE_SENT: i32 = 0;
/// Trace direction: a line received from the server.
pub const EMAIL_TRACE_RECEIVED: i32 = 1;

/// Trace callback: called with the direction (`EMAIL_TRACE_SENT` or `EMAIL_TRACE_RECEIVED`),
/// one protocol line (`len` bytes, without CRLF, not NUL-terminated, valid only during the call)
/// and the `user_data` given to `email_set_trace_callback`. Credentials never reach it: LOGIN
/// arguments and AUTHENTICATE payloads are replaced by `<redacted>`, and literal data (message
/// bodies) by a line `[literal: N bytes]`; a response skipped because it does not parse (the
/// tolerance of `EMAIL_ERR_PROTOCOL`) comes as `[skipped: ...]` with its first bytes. It runs on the thread that moves the bytes: the
/// thread of the host's call on the session for most lines, but a library thread for the lines
/// of a read fetched ahead (`email_read_first`, `email_read_next`, `email_read_first_search`,
/// `email_get_all`), possibly after the host's call returned. Never on two threads at once for
/// one session; it must not call imapmail functions on the same session. Hosts whose code must
/// not run on a thread they did not start (WINDEV procedures) use the `trace_queue` option and
/// `email_session_trace_next`, or `trace_file`, instead.
pub type EmailTraceCallback =
    Option<extern "C" fn(direction: i32, line: *const u8, len: usize, user_data: *mut c_void)>;

/// Sets (or, with a NULL callback, removes) the session's protocol trace callback. It applies
/// from the next byte sent or received on (the login is traced only by the `trace_file` and
/// `trace_queue` options, set before the session starts), also to a read running ahead on a
/// library thread, which then calls it (see `EmailTraceCallback`).
///
/// Returns `EMAIL_OK` or `EMAIL_ERR_HANDLE`. Waits while another thread uses the session.
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

/// Takes the oldest line of the session's queued trace (option `trace_queue` of
/// `email_start_session_ex`): the protocol of the whole session, login included, as the
/// `trace_file` option writes it: `C: ` (sent) or `S: ` (received) then the line without CRLF,
/// credentials replaced by `<redacted>`, literal data by `[literal: N bytes]`. Where lines were
/// dropped because the queue was full, a line `-- N line(s) dropped: the trace queue was full`
/// stands in their place.
///
/// The line is copied into `buf` (`capacity` bytes) as UTF-8 (bytes the server sent that are not
/// UTF-8 are copied as they are), NUL-terminated, and removed from the queue. A line longer than
/// `capacity - 1` bytes is cut there (16400 bytes always suffice). For a UTF-16 host, convert it
/// with `email_copy_utf16`.
///
/// Never waits for the session: a host polls it from its own thread (a WINDEV timer, say)
/// while another thread reads. Does not change the session's last error.
///
/// Returns `EMAIL_OK` (a line in `buf`), `EMAIL_OUT` (the queue is empty; `buf` is `""`),
/// `EMAIL_ERR_ARGUMENT` (`buf` NULL, `capacity` 0, or a session started without
/// `trace_queue`), or `EMAIL_ERR_HANDLE`.
///
/// # Safety
/// `buf` must be NULL or point to `capacity` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn email_session_trace_next(
    s: *const EmailSession,
    buf: *mut c_char,
    capacity: usize,
) -> IntPtr {
    status_call(|| {
        let handle = SESSIONS.get(s).ok_or_else(|| Failure::handle("session"))?;
        if buf.is_null() || capacity == 0 {
            return Err(Failure::argument("buf is NULL or capacity is 0"));
        }
        let queue = handle.trace_queue.as_ref().ok_or_else(|| {
            Failure::argument("the session was started without the trace_queue option")
        })?;
        let line = queue.pop();
        let bytes = line.as_deref().unwrap_or(b"");
        let n = bytes.len().min(capacity - 1);
        // SAFETY: `buf` holds `capacity` writable bytes by contract, and n + 1 <= capacity.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
        Ok(if line.is_some() { EMAIL_OK } else { EMAIL_OUT })
    })
}
