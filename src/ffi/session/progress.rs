//! A read's progress: polled with `email_session_progress` (from any thread, never waiting for
//! the session) or reported to a callback set with `email_set_progress_callback`.

use std::ffi::c_void;

use crate::core::progress::metered;
use crate::ffi::error::{EMAIL_ERR_HANDLE, EMAIL_OK};
use crate::ffi::session::{with_session, EmailSession, UserData, SESSIONS};
use crate::ffi::util::{status_call, Failure};
use crate::ffi::IntPtr;

/// Progress callback: called with the number of messages done so far and the total, and the
/// `user_data` given to `email_set_progress_callback`. Return 0 to go on, non-zero to cancel
/// (the running call then fails with `EMAIL_ERR_CANCELLED`; the session stays usable). It runs
/// on the thread that called the reading function (`email_read_first`, `email_read_next`,
/// `email_read_first_search`, `email_get_all`), before that call returns, never on a library
/// thread; the session is busy meanwhile, so it must not call functions on the same session.
/// Hosts that prefer not to be called back poll `email_session_progress` instead.
pub type EmailProgressCallback =
    Option<extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> i32>;

/// Sets (or, with a NULL callback, removes) the session's progress callback, called during
/// `email_get_all` and the read iteration (once per message handed out) with (done, total), on
/// the thread that made the reading call. `email_session_progress` works with or without it.
///
/// Returns `EMAIL_OK` or `EMAIL_ERR_HANDLE`. Waits while another thread uses the session.
#[no_mangle]
pub extern "C" fn email_set_progress_callback(
    s: *mut EmailSession,
    callback: EmailProgressCallback,
    user_data: *mut c_void,
) -> IntPtr {
    status_call(|| {
        let meter = SESSIONS
            .get(s)
            .map(|h| std::sync::Arc::clone(&h.progress))
            .ok_or_else(|| Failure::handle("session"))?;
        let data = UserData(user_data);
        with_session(s, move |session| {
            let host = callback.map(|cb| {
                let data = data;
                Box::new(move |done: u64, total: u64| cb(done, total, data.get()) != 0)
                    as crate::core::session::ProgressCallback
            });
            session.set_progress(Some(metered(meter, host)));
            Ok(EMAIL_OK)
        })
    })
}

/// The progress of the session's current or last read, for a host that polls it (for example
/// from a timer of its user-interface thread) while another thread reads: `*done` messages of
/// `*total` (each may be NULL to skip it). Both are 0 before the first message of a read;
/// `email_read_first`, `email_read_first_search` and `email_get_all` start again from 0; the
/// values stay after the read ends. `done` and `total` always come from the same report.
///
/// Never waits for the session: it answers at once while another thread is inside a call on
/// the same session (a read, IDLE, ...). Callable from any thread; it does not change the
/// session's last error (`email_session_error`).
///
/// Returns `EMAIL_OK`, or `EMAIL_ERR_HANDLE` (then `*done` and `*total` are set to 0) for a
/// NULL, unknown or closed session.
///
/// # Safety
/// `done` and `total` must each be NULL or point to writable storage for one uint64_t.
#[no_mangle]
pub unsafe extern "C" fn email_session_progress(
    s: *const EmailSession,
    done: *mut u64,
    total: *mut u64,
) -> IntPtr {
    status_call(|| {
        let found = SESSIONS.get(s).map(|h| h.progress.get());
        let (d, t) = found.unwrap_or((0, 0));
        if !done.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { *done = d };
        }
        if !total.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { *total = t };
        }
        match found {
            Some(_) => Ok(EMAIL_OK),
            None => Err(Failure::new(
                EMAIL_ERR_HANDLE,
                "invalid session handle (NULL, already freed or closed, or not from imapmail)",
            )),
        }
    })
}

/// Back to (0, 0) as a read starts (called with the session locked).
pub(crate) fn reset(s: *const EmailSession) {
    if let Some(h) = SESSIONS.get(s) {
        h.progress.reset();
    }
}
