//! `EmailSession`: starting and closing sessions, reading messages, the session's last error.

use crate::ffi::IntPtr;
use std::ffi::{c_char, CString};
use std::sync::{Arc, Mutex};

use crate::core::progress::{metered, ProgressMeter};
use crate::core::trace_queue::TraceQueue;
use crate::core::{self, Credentials, ReadOptions, Security, SessionOptions};
use crate::ffi::error::{EMAIL_ERR_HANDLE, EMAIL_OK, EMAIL_OUT};
use crate::ffi::list::{self, EmailList};
use crate::ffi::message::{self, EmailMessage};
use crate::ffi::util::{
    arg_opt_str, arg_str, lock, status_call, to_cstring, value_call, Failure, Owner, Registry,
};

pub mod mailbox;
pub mod progress;
#[doc(hidden)]
pub mod testing;
pub mod trace;

pub use progress::{email_session_progress, email_set_progress_callback, EmailProgressCallback};

/// Implicit TLS from the first byte (default; port 993).
pub const EMAIL_SECURITY_TLS: u32 = 0;
/// Plain connection upgraded with STARTTLS, which is required (port 143).
pub const EMAIL_SECURITY_STARTTLS: u32 = 1;
/// No encryption (port 143); only when asked for explicitly.
pub const EMAIL_SECURITY_NONE: u32 = 2;
/// Skip certificate and host-name verification (testing only: anyone on the path can read the
/// password).
pub const EMAIL_ACCEPT_INVALID_CERTS: u32 = 0x10;
/// The password argument is an OAuth2 access token (AUTHENTICATE XOAUTH2).
pub const EMAIL_AUTH_XOAUTH2: u32 = 0x20;

/// Read every message of the folder.
pub const EMAIL_READ_ALL: u32 = 0;
/// Only messages not yet read (without \Seen).
pub const EMAIL_READ_UNREAD: u32 = 1;
/// Only headers, flags and size: no body, no attachments.
pub const EMAIL_READ_HEADERS: u32 = 2;
/// Mark each message read (\Seen) on the server as it is read. Without it, reading never
/// changes anything on the server.
pub const EMAIL_READ_MARK_SEEN: u32 = 4;

const SECURITY_MASK: u32 = 0x0F;
const KNOWN_SESSION_FLAGS: u32 = SECURITY_MASK | EMAIL_ACCEPT_INVALID_CERTS | EMAIL_AUTH_XOAUTH2;
const KNOWN_READ_FLAGS: u32 = EMAIL_READ_UNREAD | EMAIL_READ_HEADERS | EMAIL_READ_MARK_SEEN;

/// An open IMAP session (opaque). Made by `email_start_session`, freed by `email_close_session`.
pub struct EmailSession {
    /// None once closed; the mutex serializes calls on the session.
    state: Mutex<Option<core::Session>>,
    last_error: Mutex<(isize, CString)>,
    /// The (done, total) of the current or last read, readable without `state`'s lock.
    progress: Arc<ProgressMeter>,
    /// The `trace_queue` option's queue, readable without `state`'s lock.
    trace_queue: Option<Arc<TraceQueue>>,
}

pub(crate) static SESSIONS: Registry<EmailSession> = Registry::new();

impl EmailSession {
    fn record(&self, result: &Result<isize, Failure>) {
        let mut last = lock(&self.last_error);
        match result {
            Ok(_) => *last = (EMAIL_OK, CString::default()),
            Err(f) => *last = (f.code, to_cstring(&f.message)),
        }
    }
}

/// Runs `f` on a live, open session, recording the outcome as the session's last error.
pub(crate) fn with_session(
    s: *const EmailSession,
    f: impl FnOnce(&mut core::Session) -> Result<isize, Failure>,
) -> Result<isize, Failure> {
    let handle = SESSIONS.get(s).ok_or_else(|| Failure::handle("session"))?;
    let mut state = lock(&handle.state);
    let session = state.as_mut().ok_or_else(|| Failure::handle("session"))?;
    let result = f(session);
    drop(state);
    handle.record(&result);
    result
}

fn session_options(
    server: &str,
    port: u16,
    flags: u32,
    options: Option<&str>,
) -> Result<SessionOptions, Failure> {
    if flags & !KNOWN_SESSION_FLAGS != 0 {
        return Err(Failure::argument(format!(
            "unknown session flags 0x{:x}",
            flags & !KNOWN_SESSION_FLAGS
        )));
    }
    let security = match flags & SECURITY_MASK {
        EMAIL_SECURITY_TLS => Security::Tls,
        EMAIL_SECURITY_STARTTLS => Security::StartTls,
        EMAIL_SECURITY_NONE => Security::None,
        other => return Err(Failure::argument(format!("unknown security mode {other}"))),
    };
    let mut opts = SessionOptions::new(server, port, security);
    opts.accept_invalid_certs = flags & EMAIL_ACCEPT_INVALID_CERTS != 0;
    opts.xoauth2 = flags & EMAIL_AUTH_XOAUTH2 != 0;
    if let Some(text) = options {
        opts.apply(text)?;
    }
    Ok(opts)
}

unsafe fn start(
    server: *const c_char,
    port: u16,
    user: *const c_char,
    password: *const c_char,
    flags: u32,
    options: *const c_char,
) -> Result<*mut EmailSession, Failure> {
    // SAFETY (all four): the caller passes NULL or NUL-terminated strings.
    let server = unsafe { arg_str(server, "server") }?;
    let user = unsafe { arg_str(user, "user") }?;
    let password = unsafe { arg_str(password, "password") }?;
    let options = unsafe { arg_opt_str(options, "options") }?;
    let opts = session_options(server, port, flags, options)?;
    let creds = Credentials::new(user, password);
    let queue = opts.trace_queue.as_ref().map(|q| Arc::clone(&q.0));
    let mut session = core::Session::open(opts, &creds)?;
    let meter = Arc::new(ProgressMeter::new());
    session.set_progress(Some(metered(Arc::clone(&meter), None)));
    let handle = Arc::new(EmailSession {
        state: Mutex::new(Some(session)),
        last_error: Mutex::new((EMAIL_OK, CString::default())),
        progress: meter,
        trace_queue: queue,
    });
    Ok(SESSIONS.insert(handle, Owner::Host))
}

/// Connects to an IMAP server, secures the connection, logs in and selects INBOX.
///
/// - `server`: host name or IP address (UTF-8).
/// - `port`: 0 for the standard port of the security mode (993 for TLS, 143 otherwise).
/// - `user`, `password`: the credentials (with `EMAIL_AUTH_XOAUTH2`, `password` is an OAuth2
///   access token). imapmail keeps no copy of the password after login (only
///   `email_start_session_ex` with the `reconnect` option does) and never writes it to an
///   error message.
/// - `flags`: one security mode (`EMAIL_SECURITY_TLS` default, `EMAIL_SECURITY_STARTTLS`,
///   `EMAIL_SECURITY_NONE`) plus `EMAIL_ACCEPT_INVALID_CERTS` and/or `EMAIL_AUTH_XOAUTH2`.
///
/// Certificates and host names are verified against the system's trusted roots. STARTTLS mode
/// fails closed. Login uses AUTHENTICATE PLAIN when offered (the credentials on the command
/// line itself when the server offers SASL-IR, a round trip less), otherwise LOGIN (refused when
/// the server advertises LOGINDISABLED).
///
/// Returns a new session, to be closed with `email_close_session`, or NULL on failure: then
/// `email_last_error()` gives the status (`EMAIL_ERR_CONNECT`, `EMAIL_ERR_TLS`,
/// `EMAIL_ERR_AUTH`, `EMAIL_ERR_TIMEOUT`, `EMAIL_ERR_ARGUMENT`, ...) and
/// `email_last_error_message()` the reason. Blocks for at most about 60 s per network step.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_start_session(
    server: *const c_char,
    port: u16,
    user: *const c_char,
    password: *const c_char,
    flags: u32,
) -> *mut EmailSession {
    // SAFETY: forwarded contract.
    value_call(std::ptr::null_mut(), || unsafe {
        start(server, port, user, password, flags, std::ptr::null())
    })
}

/// Same as `email_start_session`, with an options string `key=value;key=value` (NULL or `""`
/// for none). Keys:
/// - `timeout_ms`: bound of connecting and of every network read or write (default 60000);
/// - `ca_file`: a PEM file whose certificates are trusted in addition to the system roots;
/// - `folder`: the folder selected after login, UTF-8 (default INBOX);
/// - `max_message_bytes`: the largest message accepted from the server (default 268435456);
/// - `trace_file`: a file the protocol trace of the whole session (from the connection, login
///   included, to the logout) is appended to, credentials replaced by a marker;
/// - `trace_queue`: N (1 to 100000) keeps the same trace in memory, up to N lines (and 8 MiB),
///   for the host to take with `email_session_trace_next` from any thread: a trace without
///   callbacks, so no host code runs on a library thread. When full, new lines are dropped and
///   counted;
/// - `pipelining`: `1` (default) asks for the next batch of a read before the current one has
///   arrived, so that a read costs no round trip per batch; `0` sends one command at a time,
///   for a server that answers pipelined commands badly;
/// - `reconnect`: `1` lets a read (`email_read_next`, `email_get_all`) that loses its connection
///   connect, log in and select the folder again (up to 3 times in a row) and go on after the
///   last message handed out, unless the folder's UIDVALIDITY changed; messages are neither
///   lost nor handed out twice. Only with `1` does the session keep a copy of the password in
///   memory (to log in again; wiped when the session is closed); with the default `0` it keeps
///   none after login.
///
/// Blanks around keys and values are ignored; write `\;`, `\=` and `\\` for those characters
/// inside a value. An unknown key or a bad value fails with `EMAIL_ERR_ARGUMENT` and a message
/// naming it.
///
/// # Safety
/// String arguments must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_start_session_ex(
    server: *const c_char,
    port: u16,
    user: *const c_char,
    password: *const c_char,
    flags: u32,
    options: *const c_char,
) -> *mut EmailSession {
    // SAFETY: forwarded contract.
    value_call(std::ptr::null_mut(), || unsafe {
        start(server, port, user, password, flags, options)
    })
}

/// Logs out and frees the session. Messages and lists already read stay valid.
///
/// Returns `EMAIL_OK`, or `EMAIL_ERR_HANDLE` for NULL, an unknown or an already closed session
/// (never a crash). If another thread is using the session, this waits for that call to end.
#[no_mangle]
pub extern "C" fn email_close_session(s: *mut EmailSession) -> IntPtr {
    status_call(|| {
        let handle = SESSIONS
            .remove_owned(s)
            .ok_or_else(|| Failure::handle("session"))?;
        let session = lock(&handle.state).take();
        if let Some(session) = session {
            session.close();
        }
        Ok(EMAIL_OK)
    })
}

/// The status of the last call made on this session (`EMAIL_OK` after a success), whichever
/// thread made it. `EMAIL_ERR_HANDLE` for an invalid session.
#[no_mangle]
pub extern "C" fn email_session_error(s: *const EmailSession) -> IntPtr {
    crate::ffi::util::boundary(crate::ffi::error::EMAIL_ERR_INTERNAL, || {
        match SESSIONS.get(s) {
            Some(h) => lock(&h.last_error).0,
            None => EMAIL_ERR_HANDLE,
        }
    })
}

/// A description of the last failure on this session (`""` after a success), whichever thread
/// made it, in UTF-8. Never NULL; never contains a password or token.
///
/// The string is this thread's own copy, owned by imapmail: it stays valid until this thread
/// calls `email_session_error_message` again (for any session) or ends. Calls of other threads
/// (on this session or any other) and closing the session do not free or change it, so one
/// thread can read it while others use the session. Does not change `email_last_error`.
#[no_mangle]
pub extern "C" fn email_session_error_message(s: *const EmailSession) -> *const c_char {
    crate::ffi::util::boundary(c"".as_ptr(), || match SESSIONS.get(s) {
        Some(h) => {
            let copy = lock(&h.last_error).1.clone();
            SESSION_MESSAGE
                .try_with(|cell| {
                    cell.try_borrow_mut()
                        .map(|mut held| {
                            *held = copy;
                            held.as_ptr()
                        })
                        .unwrap_or(c"".as_ptr())
                })
                .unwrap_or(c"".as_ptr())
        }
        None => c"invalid session handle".as_ptr(),
    })
}

thread_local! {
    /// This thread's copy of the last `email_session_error_message` result.
    static SESSION_MESSAGE: std::cell::RefCell<CString> = std::cell::RefCell::new(CString::default());
}

fn read_options(read_flags: u32) -> Result<ReadOptions, Failure> {
    if read_flags & !KNOWN_READ_FLAGS != 0 {
        return Err(Failure::argument(format!(
            "unknown read flags 0x{:x}",
            read_flags & !KNOWN_READ_FLAGS
        )));
    }
    Ok(ReadOptions {
        unread_only: read_flags & EMAIL_READ_UNREAD != 0,
        headers_only: read_flags & EMAIL_READ_HEADERS != 0,
        mark_seen: read_flags & EMAIL_READ_MARK_SEEN != 0,
    })
}

fn hand_out(out: *mut *mut EmailMessage, m: Option<core::Message>) -> isize {
    match m {
        Some(m) => {
            // SAFETY: `out` was checked non-NULL by the caller of this function.
            unsafe { *out = message::into_handle(m) };
            EMAIL_OK
        }
        None => EMAIL_OUT,
    }
}

/// Starts reading the selected folder in ascending UID order and gives its first message.
///
/// `read_flags`: `EMAIL_READ_ALL` (0) or a combination of `EMAIL_READ_UNREAD`,
/// `EMAIL_READ_HEADERS`, `EMAIL_READ_MARK_SEEN`. Messages are fetched ahead in batches (up to
/// 4 MB, or 1,000 header blocks), read on a library thread while the host works, with the next
/// batches already asked for (option `pipelining`), so `email_read_next` rarely waits for the
/// network and memory stays bounded whatever the folder's size.
///
/// Returns `EMAIL_OK` with `*out` set to a new message (free it with `email_message_free`; it
/// outlives the session), `EMAIL_OUT` with `*out = NULL` when there is no message, or an error
/// with `*out = NULL`. Starting again restarts the iteration.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_read_first(
    s: *mut EmailSession,
    read_flags: u32,
    out: *mut *mut EmailMessage,
) -> IntPtr {
    status_call(|| {
        if out.is_null() {
            return Err(Failure::argument("out is NULL"));
        }
        // SAFETY: non-NULL, writable by contract.
        unsafe { *out = std::ptr::null_mut() };
        let opts = read_options(read_flags)?;
        with_session(s, |session| {
            progress::reset(s);
            Ok(hand_out(out, session.read_first(opts)?))
        })
    })
}

/// Gives the next message of the iteration started by `email_read_first` (same flags).
///
/// Returns `EMAIL_OK` with a new message in `*out`, `EMAIL_OUT` with `*out = NULL` when the
/// iteration is over (or none was started), or an error with `*out = NULL`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_read_next(
    s: *mut EmailSession,
    out: *mut *mut EmailMessage,
) -> IntPtr {
    status_call(|| {
        if out.is_null() {
            return Err(Failure::argument("out is NULL"));
        }
        // SAFETY: non-NULL, writable by contract.
        unsafe { *out = std::ptr::null_mut() };
        with_session(s, |session| Ok(hand_out(out, session.read_next()?)))
    })
}

/// Reads all messages of the selected folder (with `read_flags` as for `email_read_first`) into
/// a list. A running read_first/read_next iteration is not disturbed.
///
/// Returns `EMAIL_OK` with `*out` set to a new list (possibly empty; free it with
/// `email_list_free`), or an error with `*out = NULL`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_get_all(
    s: *mut EmailSession,
    read_flags: u32,
    out: *mut *mut EmailList,
) -> IntPtr {
    status_call(|| {
        if out.is_null() {
            return Err(Failure::argument("out is NULL"));
        }
        // SAFETY: non-NULL, writable by contract.
        unsafe { *out = std::ptr::null_mut() };
        let opts = read_options(read_flags)?;
        with_session(s, |session| {
            progress::reset(s);
            let messages = session.get_all(opts)?;
            // SAFETY: non-NULL, writable by contract.
            unsafe { *out = list::into_handle(messages) };
            Ok(EMAIL_OK)
        })
    })
}

/// The host's pointer, carried to the callback untouched.
pub(crate) struct UserData(pub(crate) *mut std::ffi::c_void);
// SAFETY: imapmail never dereferences it; the host decides what it points to and calls back on
// the host's own calling thread.
unsafe impl Send for UserData {}

impl UserData {
    pub(crate) fn get(&self) -> *mut std::ffi::c_void {
        self.0
    }
}
