//! Shared machinery of the C shell: the panic boundary, argument conversion, handle registries
//! and error recording. Nothing here is exported.

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::core::Error;
pub(crate) use crate::ffi::status::to_cstring;
use crate::ffi::status::{self, set_last_error};

/// A failure on its way to C: a status code and a message.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub code: isize,
    pub message: String,
}

impl Failure {
    pub fn new(code: isize, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
    pub fn argument(message: impl Into<String>) -> Failure {
        Failure::new(status::EMAIL_ERR_ARGUMENT, message)
    }
    pub fn handle(what: &str) -> Failure {
        Failure::new(
            status::EMAIL_ERR_HANDLE,
            format!("invalid {what} handle (NULL, already freed or closed, or not from imapmail)"),
        )
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let code = match &e {
            Error::Argument(_) => status::EMAIL_ERR_ARGUMENT,
            Error::Connect(_) => status::EMAIL_ERR_CONNECT,
            Error::Tls(_) => status::EMAIL_ERR_TLS,
            Error::Auth(_) => status::EMAIL_ERR_AUTH,
            Error::Server(_) => status::EMAIL_ERR_SERVER,
            Error::Protocol(_) => status::EMAIL_ERR_PROTOCOL,
            Error::Timeout(_) => status::EMAIL_ERR_TIMEOUT,
            Error::Disconnected(_) => status::EMAIL_ERR_DISCONNECTED,
            Error::Cancelled(_) => status::EMAIL_ERR_CANCELLED,
            Error::NotFound(_) => status::EMAIL_ERR_NOT_FOUND,
            Error::TooLarge(_) => status::EMAIL_ERR_TOO_LARGE,
            Error::Io(_) => status::EMAIL_ERR_IO,
            Error::Internal(_) => status::EMAIL_ERR_INTERNAL,
        };
        Failure::new(code, e.message().to_string())
    }
}

/// Runs an export's body, turning a panic into `EMAIL_ERR_INTERNAL` (recorded for the thread)
/// and the given fallback value. No panic ever unwinds into the host.
pub(crate) fn boundary<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            let text = panic_text(&*payload);
            // Recording must not panic again; set_last_error only allocates.
            let _ = catch_unwind(|| {
                set_last_error(
                    status::EMAIL_ERR_INTERNAL,
                    &format!("internal error (caught panic): {text}"),
                )
            });
            on_panic
        }
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Runs an export that returns a status: `EMAIL_OK`/`EMAIL_OUT` from the closure, or the
/// failure's code, recorded as this thread's last error. Statuses are pointer-sized (C
/// `intptr_t`) so that a host reading the whole result register (64-bit WINDEV's `API()`) sees
/// the same value as one reading its lower 32 bits.
pub(crate) fn status_call(body: impl FnOnce() -> Result<isize, Failure>) -> isize {
    boundary(status::EMAIL_ERR_INTERNAL, || match body() {
        Ok(code) => {
            set_last_error(status::EMAIL_OK, "");
            code
        }
        Err(f) => {
            set_last_error(f.code, &f.message);
            f.code
        }
    })
}

/// Runs an export that returns a value (pointer, number) with a fallback on failure.
pub(crate) fn value_call<R: Copy>(fallback: R, body: impl FnOnce() -> Result<R, Failure>) -> R {
    boundary(fallback, || match body() {
        Ok(v) => {
            set_last_error(status::EMAIL_OK, "");
            v
        }
        Err(f) => {
            set_last_error(f.code, &f.message);
            fallback
        }
    })
}

/// Reads a required C string argument as UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::argument(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map_err(|_| Failure::argument(format!("{what} is not valid UTF-8")))
}

/// Reads an optional C string argument (NULL means absent).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(
    p: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { arg_str(p, what) }.map(Some)
    }
}

/// Locks a mutex, ignoring poisoning (a panic is caught at the boundary; the data is still
/// consistent enough to report errors and be freed).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Live handles of one C type. A pointer is only dereferenced after it is found here, so a
/// NULL, freed or foreign pointer yields `EMAIL_ERR_HANDLE` instead of a crash. Values are
/// reference-counted: a handle freed by one thread while another uses it stays alive until
/// that call returns.
pub(crate) struct Registry<T> {
    map: Mutex<BTreeMap<usize, Entry<T>>>,
}

/// Who owns a registered object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The host frees it.
    Host,
    /// A container (e.g. an `EmailList` at this address) frees it.
    Container(usize),
}

struct Entry<T> {
    value: Arc<T>,
    owner: Owner,
}

impl<T> Registry<T> {
    pub const fn new() -> Registry<T> {
        Registry {
            map: Mutex::new(BTreeMap::new()),
        }
    }

    /// Registers a value and returns the handle given to C.
    pub fn insert(&self, value: Arc<T>, owner: Owner) -> *mut T {
        let ptr = Arc::as_ptr(&value) as *mut T;
        lock(&self.map).insert(ptr as usize, Entry { value, owner });
        ptr
    }

    /// Registers an already-shared value under another owner (e.g. a message inside a list).
    pub fn insert_shared(&self, value: &Arc<T>, owner: Owner) -> *mut T {
        self.insert(Arc::clone(value), owner)
    }

    /// The live value behind a handle.
    pub fn get(&self, ptr: *const T) -> Option<Arc<T>> {
        if ptr.is_null() {
            return None;
        }
        lock(&self.map)
            .get(&(ptr as usize))
            .map(|e| Arc::clone(&e.value))
    }

    /// The live value behind a handle, recorded as this thread's last error: `EMAIL_OK`, or
    /// `EMAIL_ERR_HANDLE` naming `what` ("message", "list", ...) for a dead one.
    pub fn get_recorded(&self, ptr: *const T, what: &str) -> Option<Arc<T>> {
        let found = self.get(ptr);
        match &found {
            Some(_) => set_last_error(status::EMAIL_OK, ""),
            None => set_last_error(
                status::EMAIL_ERR_HANDLE,
                &format!("invalid {what} handle (NULL, freed, or not from imapmail)"),
            ),
        }
        found
    }

    /// Unregisters a handle owned by the host. Returns None when it is unknown, or when it is
    /// owned by a container (then it stays registered).
    pub fn remove_owned(&self, ptr: *const T) -> Option<Arc<T>> {
        let mut map = lock(&self.map);
        match map.get(&(ptr as usize)) {
            Some(e) if e.owner == Owner::Host => map.remove(&(ptr as usize)).map(|e| e.value),
            _ => None,
        }
    }

    /// Unregisters a handle whatever its owner.
    pub fn remove_any(&self, ptr: *const T) -> Option<Arc<T>> {
        lock(&self.map).remove(&(ptr as usize)).map(|e| e.value)
    }
}
