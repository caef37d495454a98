//! `EmailSession` exports for managing mail: folders (list, select, create, delete, rename,
//! subscribe, status), flags and keywords, deleting and expunging, copying and moving,
//! appending, searching, counting, and waiting for new mail.
//!
//! Messages are addressed by UID in the selected folder (`email_message_uid`). The
//! `email_message_*` conveniences take a message read earlier instead: it must come from the
//! folder selected now. A message object never changes: after `email_mark_read`, a message
//! read before still reports its old flags; read it again to see the new ones.

use crate::ffi::IntPtr;
use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use super::{hand_out, read_options, with_session, EmailSession, EMAIL_READ_UNREAD};
use crate::core::message::flags;
use crate::ffi::message::{
    email_message_message_id, email_message_size, email_message_uid, EmailMessage,
};
use crate::ffi::search::{self, EmailSearch, EmailUids};
use crate::ffi::status::{set_last_error, EMAIL_ERR_TOO_LARGE, EMAIL_OK, EMAIL_OUT};
use crate::ffi::strings::{self, EmailStrings};
use crate::ffi::util::{arg_str, boundary, status_call, to_cstring, Failure};

/// Clears `*out` (after checking it is not NULL).
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
unsafe fn clear_out<T>(out: *mut *mut T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::argument("out is NULL"));
    }
    // SAFETY: non-NULL, writable by contract.
    unsafe { *out = std::ptr::null_mut() };
    Ok(())
}

/// Writes `value` to an optional out-parameter.
///
/// # Safety
/// `p` must be NULL or point to writable storage for one value.
unsafe fn put<T>(p: *mut T, value: T) {
    if !p.is_null() {
        // SAFETY: non-NULL, writable by contract.
        unsafe { *p = value };
    }
}

// ----- folders -----

/// Lists every folder of the account (LIST), INBOX first, then the others by name. Names are
/// UTF-8 (decoded from IMAP's modified UTF-7) and are what the other folder functions take;
/// `email_strings_delimiter` and `email_strings_attributes` give each folder's hierarchy
/// delimiter and `EMAIL_FOLDER_*` attributes (\Noselect, \HasChildren, special uses such as
/// \Sent or \Trash).
///
/// Returns `EMAIL_OK` with `*out` set to a new list (free it with `email_strings_free`; it
/// outlives the session), or an error with `*out = NULL`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_list_folders(
    s: *mut EmailSession,
    out: *mut *mut EmailStrings,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { list_folders(s, out, false) }
}

/// Same as `email_list_folders` for the subscribed folders only (LSUB). Some servers give
/// fewer attributes here.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_list_subscribed(
    s: *mut EmailSession,
    out: *mut *mut EmailStrings,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { list_folders(s, out, true) }
}

/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
unsafe fn list_folders(
    s: *mut EmailSession,
    out: *mut *mut EmailStrings,
    subscribed: bool,
) -> isize {
    status_call(|| {
        // SAFETY: forwarded contract.
        unsafe { clear_out(out) }?;
        with_session(s, |session| {
            let folders = session.list_folders(subscribed)?;
            // SAFETY: checked non-NULL above; writable by contract.
            unsafe { *out = strings::folders_into_handle(folders) };
            Ok(EMAIL_OK)
        })
    })
}

/// Selects a folder (WINDEV's EmailChangeFolder): later reads, searches, flag changes, moves
/// and counts apply to it. `read_only` non-zero opens it with EXAMINE (nothing can change,
/// not even \Seen). Ends any read iteration.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such folder; the message has the server's
/// words), `EMAIL_ERR_ARGUMENT` (NULL, empty, CR/LF/NUL), or a network error. After a failure
/// the server may have left no folder selected: select another one before reading.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_select_folder(
    s: *mut EmailSession,
    name: *const c_char,
    read_only: i32,
) -> IntPtr {
    status_call(|| {
        // SAFETY: contract of this function.
        let name = unsafe { arg_str(name, "name") }?;
        crate::core::search::check_folder(name)?;
        with_session(s, |session| {
            session.select_folder(name, read_only != 0)?;
            Ok(EMAIL_OK)
        })
    })
}

thread_local! {
    static CURRENT_FOLDER: RefCell<CString> = RefCell::new(CString::default());
}

/// The name of the selected folder (UTF-8). Owned by imapmail: valid until this thread's next
/// call to `email_current_folder`. NULL for an invalid session (`EMAIL_ERR_HANDLE`).
#[no_mangle]
pub extern "C" fn email_current_folder(s: *const EmailSession) -> *const c_char {
    boundary(std::ptr::null(), || {
        let mut name = None;
        let result = with_session(s, |session| {
            name = Some(to_cstring(session.current_folder()));
            Ok(EMAIL_OK)
        });
        match (result, name) {
            (Ok(_), Some(c)) => {
                set_last_error(EMAIL_OK, "");
                CURRENT_FOLDER
                    .try_with(|cell| {
                        let mut keep = cell.borrow_mut();
                        *keep = c;
                        keep.as_ptr()
                    })
                    .unwrap_or(std::ptr::null())
            }
            (Err(f), _) => {
                set_last_error(f.code, &f.message);
                std::ptr::null()
            }
            (Ok(_), None) => std::ptr::null(),
        }
    })
}

/// Runs a folder operation taking one name.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
unsafe fn folder_call(
    s: *mut EmailSession,
    name: *const c_char,
    f: impl FnOnce(&mut crate::core::Session, &str) -> crate::core::Result<()>,
) -> isize {
    status_call(|| {
        // SAFETY: contract of the callers.
        let name = unsafe { arg_str(name, "name") }?;
        crate::core::search::check_folder(name)?;
        with_session(s, |session| {
            f(session, name)?;
            Ok(EMAIL_OK)
        })
    })
}

/// Creates a folder (UTF-8 name; use the delimiter of `email_strings_delimiter` for a folder
/// below another, e.g. "Archive/2024": most servers create the missing levels).
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_SERVER` (e.g. it already exists, or the name is not allowed;
/// the message has the server's words), `EMAIL_ERR_ARGUMENT` or a network error.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_create_folder(s: *mut EmailSession, name: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { folder_call(s, name, |session, name| session.create_folder(name)) }
}

/// Deletes a folder and the messages in it. Deleting the selected folder (or one above it)
/// first selects INBOX, which stays selected afterwards (servers end the session when the
/// selected folder disappears); the read iteration ends.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such folder), `EMAIL_ERR_SERVER` (e.g. INBOX,
/// or a folder that has children on some servers), `EMAIL_ERR_ARGUMENT` or a network error.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_delete_folder(s: *mut EmailSession, name: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { folder_call(s, name, |session, name| session.delete_folder(name)) }
}

/// Renames folder `from` to `to` (with the folders below it). When `from` is, or holds, the
/// selected folder, the renamed folder is selected again afterwards (read-write; the read
/// iteration ends). Renaming INBOX moves its messages into a new folder and leaves INBOX empty.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no folder `from`), `EMAIL_ERR_SERVER` (e.g. `to`
/// exists), `EMAIL_ERR_ARGUMENT` or a network error.
///
/// # Safety
/// `from` and `to` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_rename_folder(
    s: *mut EmailSession,
    from: *const c_char,
    to: *const c_char,
) -> IntPtr {
    status_call(|| {
        // SAFETY: contract of this function.
        let from = unsafe { arg_str(from, "from") }?;
        // SAFETY: contract of this function.
        let to = unsafe { arg_str(to, "to") }?;
        crate::core::search::check_folder(from)?;
        crate::core::search::check_folder(to)?;
        with_session(s, |session| {
            session.rename_folder(from, to)?;
            Ok(EMAIL_OK)
        })
    })
}

/// Subscribes to a folder (mail programs usually show only subscribed folders).
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (on servers that refuse unknown folders),
/// `EMAIL_ERR_ARGUMENT` or a network error.
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_subscribe_folder(
    s: *mut EmailSession,
    name: *const c_char,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        folder_call(s, name, |session, name| {
            session.subscribe_folder(name, true)
        })
    }
}

/// Unsubscribes from a folder (the folder and its messages stay).
///
/// # Safety
/// `name` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_unsubscribe_folder(
    s: *mut EmailSession,
    name: *const c_char,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        folder_call(s, name, |session, name| {
            session.subscribe_folder(name, false)
        })
    }
}

/// The counters of a folder without selecting it (STATUS): number of messages, of unread
/// messages, the next UID it will give and its UIDVALIDITY. Any out-pointer may be NULL; all
/// are set to 0 on failure.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such folder), `EMAIL_ERR_ARGUMENT` or a
/// network error.
///
/// # Safety
/// `name` must be NULL or NUL-terminated; each out-pointer NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_folder_status(
    s: *mut EmailSession,
    name: *const c_char,
    messages: *mut u32,
    unseen: *mut u32,
    uidnext: *mut u32,
    uidvalidity: *mut u32,
) -> IntPtr {
    status_call(|| {
        // SAFETY (all four): NULL or writable by contract.
        unsafe {
            put(messages, 0);
            put(unseen, 0);
            put(uidnext, 0);
            put(uidvalidity, 0);
        }
        // SAFETY: contract of this function.
        let name = unsafe { arg_str(name, "name") }?;
        crate::core::search::check_folder(name)?;
        with_session(s, |session| {
            let st = session.folder_status(name)?;
            // SAFETY (all four): NULL or writable by contract.
            unsafe {
                put(messages, st.messages);
                put(unseen, st.unseen);
                put(uidnext, st.uid_next);
                put(uidvalidity, st.uid_validity);
            }
            Ok(EMAIL_OK)
        })
    })
}

// ----- flags -----

/// Marks message `uid` of the selected folder read (`read` non-zero: sets \Seen) or unread
/// (0: removes it). Other sessions see the change.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no message with this UID), `EMAIL_ERR_ARGUMENT`
/// (UID 0), `EMAIL_ERR_SERVER` (e.g. the folder was selected read-only) or a network error.
#[no_mangle]
pub extern "C" fn email_mark_read(s: *mut EmailSession, uid: u32, read: i32) -> IntPtr {
    status_call(|| {
        with_session(s, |session| {
            session.store_flags(uid, flags::SEEN, &[], read != 0)?;
            Ok(EMAIL_OK)
        })
    })
}

/// Adds (`add` non-zero) or removes (0) flags on message `uid`: a combination of
/// `EMAIL_FLAG_SEEN`, `EMAIL_FLAG_ANSWERED`, `EMAIL_FLAG_FLAGGED`, `EMAIL_FLAG_DELETED`,
/// `EMAIL_FLAG_DRAFT`; flags not given are left as they are. Adding `EMAIL_FLAG_DELETED` is
/// `email_delete_message`.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such UID), `EMAIL_ERR_ARGUMENT` (UID 0,
/// unknown bits) or as `email_mark_read`.
#[no_mangle]
pub extern "C" fn email_set_flags(s: *mut EmailSession, uid: u32, flags: u32, add: i32) -> IntPtr {
    status_call(|| {
        crate::core::search::check_flags(flags)?;
        with_session(s, |session| {
            session.store_flags(uid, flags, &[], add != 0)?;
            Ok(EMAIL_OK)
        })
    })
}

/// # Safety
/// `keyword` must be NULL or NUL-terminated.
unsafe fn keyword_call(s: *mut EmailSession, uid: u32, keyword: *const c_char, add: bool) -> isize {
    status_call(|| {
        // SAFETY: contract of the callers.
        let keyword = unsafe { arg_str(keyword, "keyword") }?;
        crate::core::search::check_keyword(keyword)?;
        with_session(s, |session| {
            session.store_flags(uid, 0, &[keyword], add)?;
            Ok(EMAIL_OK)
        })
    })
}

/// Sets a keyword (user flag, e.g. `$Forwarded`, `Work`) on message `uid`. A keyword is an IMAP
/// atom: printable ASCII without spaces and `( ) { % * " \ ]`; anything else gives
/// `EMAIL_ERR_ARGUMENT` before anything is sent. Some servers accept only a fixed set of
/// keywords (`EMAIL_ERR_SERVER`).
///
/// # Safety
/// `keyword` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_add_keyword(
    s: *mut EmailSession,
    uid: u32,
    keyword: *const c_char,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { keyword_call(s, uid, keyword, true) }
}

/// Removes a keyword from message `uid` (as `email_add_keyword`).
///
/// # Safety
/// `keyword` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_remove_keyword(
    s: *mut EmailSession,
    uid: u32,
    keyword: *const c_char,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { keyword_call(s, uid, keyword, false) }
}

// ----- delete, expunge, move, copy, append -----

/// Marks message `uid` of the selected folder deleted (\Deleted). It stays (other programs
/// may show it struck through) until `email_expunge`.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such UID), `EMAIL_ERR_ARGUMENT` (UID 0) or as
/// `email_mark_read`.
#[no_mangle]
pub extern "C" fn email_delete_message(s: *mut EmailSession, uid: u32) -> IntPtr {
    status_call(|| {
        with_session(s, |session| {
            session.delete_message(uid)?;
            Ok(EMAIL_OK)
        })
    })
}

/// Removes for good the messages this session marked deleted in the selected folder (with
/// `email_delete_message`, `EMAIL_FLAG_DELETED`, or a move on a server without MOVE and
/// UIDPLUS). Messages marked deleted by other programs are never removed:
/// - with UIDPLUS (most servers), exactly those UIDs are expunged (UID EXPUNGE);
/// - without it, a plain EXPUNGE is the only way: the other messages marked \Deleted lose that
///   flag for the time of the EXPUNGE and get it back right after (another program looking at
///   that moment could see them not deleted).
///
/// Nothing marked: nothing is sent. Returns `EMAIL_OK` or an error (`EMAIL_ERR_SERVER` e.g. for
/// a folder selected read-only).
#[no_mangle]
pub extern "C" fn email_expunge(s: *mut EmailSession) -> IntPtr {
    status_call(|| {
        with_session(s, |session| {
            session.expunge()?;
            Ok(EMAIL_OK)
        })
    })
}

/// Moves message `uid` of the selected folder into `folder`. `*new_uid` (when not NULL) gets
/// its UID there, from the server's COPYUID (servers with UIDPLUS), or 0 when the server does
/// not tell.
///
/// With MOVE (RFC 6851) this is one UID MOVE. Without it: UID COPY, then \Deleted on the
/// original, then UID EXPUNGE of that UID alone (UIDPLUS). A server with neither MOVE nor
/// UIDPLUS cannot remove one message alone: the original stays marked \Deleted and is removed
/// by the next `email_expunge` (which never touches other messages).
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such UID, or no folder `folder`; the message
/// says which), `EMAIL_ERR_ARGUMENT` or a network error.
///
/// # Safety
/// `folder` must be NULL or NUL-terminated; `new_uid` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_move_message(
    s: *mut EmailSession,
    uid: u32,
    folder: *const c_char,
    new_uid: *mut u32,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        transfer(s, folder, new_uid, |session, folder| {
            Ok(session.move_message(uid, folder)?)
        })
    }
}

/// Copies message `uid` of the selected folder into `folder`; `*new_uid` as for
/// `email_move_message`. Returns as `email_move_message`.
///
/// # Safety
/// `folder` must be NULL or NUL-terminated; `new_uid` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_copy_message(
    s: *mut EmailSession,
    uid: u32,
    folder: *const c_char,
    new_uid: *mut u32,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        transfer(s, folder, new_uid, |session, folder| {
            Ok(session.copy_message(uid, folder)?)
        })
    }
}

/// # Safety
/// `folder` must be NULL or NUL-terminated; `new_uid` NULL or writable.
unsafe fn transfer(
    s: *mut EmailSession,
    folder: *const c_char,
    new_uid: *mut u32,
    f: impl FnOnce(&mut crate::core::Session, &str) -> Result<u32, Failure>,
) -> isize {
    status_call(|| {
        // SAFETY: NULL or writable by contract.
        unsafe { put(new_uid, 0) };
        // SAFETY: contract of the callers.
        let folder = unsafe { arg_str(folder, "folder") }?;
        crate::core::search::check_folder(folder)?;
        with_session(s, |session| {
            let uid = f(session, folder)?;
            // SAFETY: NULL or writable by contract.
            unsafe { put(new_uid, uid) };
            Ok(EMAIL_OK)
        })
    })
}

/// Stores a message (`raw`, `len` bytes of RFC 5322 source, e.g. a sent message or a draft)
/// in `folder`, with `flags` (`EMAIL_FLAG_*`, e.g. `EMAIL_FLAG_SEEN`) and an internal date
/// (`internal_date`, Unix time, UTC; 0 for the server's default, now). `*new_uid` (when not
/// NULL) gets its UID from the server's APPENDUID (UIDPLUS), or 0.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_NOT_FOUND` (no such folder), `EMAIL_ERR_ARGUMENT` (NULL or
/// empty message, unknown flags, a date outside the years 1970 to 9999), `EMAIL_ERR_SERVER`
/// (e.g. over the server's size limit) or a network error.
///
/// # Safety
/// `folder` must be NULL or NUL-terminated; `raw` must point to `len` readable bytes;
/// `new_uid` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_append(
    s: *mut EmailSession,
    folder: *const c_char,
    raw: *const u8,
    len: usize,
    flags: u32,
    internal_date: i64,
    new_uid: *mut u32,
) -> IntPtr {
    status_call(|| {
        // SAFETY: NULL or writable by contract.
        unsafe { put(new_uid, 0) };
        // SAFETY: contract of this function.
        let folder = unsafe { arg_str(folder, "folder") }?;
        crate::core::search::check_folder(folder)?;
        crate::core::search::check_flags(flags)?;
        if raw.is_null() || len == 0 {
            return Err(Failure::argument("the message is NULL or empty"));
        }
        // SAFETY: non-NULL, `len` readable bytes by contract.
        let bytes = unsafe { std::slice::from_raw_parts(raw, len) };
        let date = (internal_date != 0).then_some(internal_date);
        with_session(s, |session| {
            let uid = session.append(folder, bytes, flags, date)?;
            // SAFETY: NULL or writable by contract.
            unsafe { put(new_uid, uid) };
            Ok(EMAIL_OK)
        })
    })
}

// ----- search and counts -----

/// Searches the selected folder with the criteria of `q` (see `email_search_new`; an empty
/// query finds every message).
///
/// Returns `EMAIL_OK` with `*out` set to a new list of the UIDs found, ascending (possibly
/// empty; free it with `email_uids_free`), or an error with `*out = NULL`: `EMAIL_ERR_HANDLE`
/// (invalid session or query), `EMAIL_ERR_SERVER` (e.g. [BADCHARSET] when the server cannot
/// search non-ASCII text), or a network error.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_search(
    s: *mut EmailSession,
    q: *const EmailSearch,
    out: *mut *mut EmailUids,
) -> IntPtr {
    status_call(|| {
        // SAFETY: forwarded contract.
        unsafe { clear_out(out) }?;
        let query = search::query_of(q)?;
        with_session(s, |session| {
            let uids = session.search(&query)?;
            // SAFETY: checked non-NULL above; writable by contract.
            unsafe { *out = search::uids_into_handle(uids) };
            Ok(EMAIL_OK)
        })
    })
}

/// Starts a read iteration over the messages of the selected folder that match `q`, in
/// ascending UID order, and gives the first one; `email_read_next` gives the others (as after
/// `email_read_first`). `read_flags` as for `email_read_first` (`EMAIL_READ_UNREAD` adds
/// "unread" to the criteria). The query is copied: it may be freed right away.
///
/// Returns `EMAIL_OK` with `*out` set to a new message (free it with `email_message_free`),
/// `EMAIL_OUT` with `*out = NULL` when nothing matches, or an error with `*out = NULL`.
///
/// # Safety
/// `out` must be NULL or point to writable storage for one pointer.
#[no_mangle]
pub unsafe extern "C" fn email_read_first_search(
    s: *mut EmailSession,
    q: *const EmailSearch,
    read_flags: u32,
    out: *mut *mut EmailMessage,
) -> IntPtr {
    status_call(|| {
        // SAFETY: forwarded contract.
        unsafe { clear_out(out) }?;
        let opts = read_options(read_flags)?;
        let query = search::query_of(q)?;
        with_session(s, |session| {
            super::progress::reset(s);
            Ok(hand_out(out, session.read_first_search(&query, opts)?))
        })
    })
}

/// The number of messages in the selected folder (WINDEV's EmailNbMessage), or of unread ones
/// with `EMAIL_READ_UNREAD` in `read_flags` (other read flags are accepted and ignored).
///
/// Returns the count (0 or more), or a negative `EMAIL_ERR_*` status on failure (also recorded
/// for `email_last_error`). More than 2^31 - 1 messages (which a 32-bit `intptr_t` cannot
/// hold) fails with `EMAIL_ERR_TOO_LARGE` on every platform.
#[no_mangle]
pub extern "C" fn email_count(s: *mut EmailSession, read_flags: u32) -> IntPtr {
    status_call(|| {
        let mut count = 0u32;
        read_options(read_flags)?;
        with_session(s, |session| {
            count = session.count(read_flags & EMAIL_READ_UNREAD != 0)?;
            Ok(EMAIL_OK)
        })?;
        i32::try_from(count).map(|c| c as isize).map_err(|_| {
            Failure::new(
                EMAIL_ERR_TOO_LARGE,
                format!("{count} messages: more than a status-sized result can hold"),
            )
        })
    })
}

/// Waits for new mail: until the server reports messages added to or removed from the
/// selected folder, or `timeout_ms` milliseconds pass (0: just check once). Uses IDLE when the
/// server has it (ended and re-issued every 30 s, well within the 29 minutes RFC 2177 allows),
/// otherwise a NOOP every 5 s. The session is busy meanwhile: other calls on it wait. Messages
/// that arrived since the session last heard from the server count as new, so nothing that
/// arrives between a read and this call is missed.
///
/// Returns `EMAIL_OK` when something changed, `EMAIL_OUT` when the time passed with nothing
/// new, or an error. `*exists` (when not NULL) gets the number of messages in the folder now
/// (also after `EMAIL_OUT`). On servers that send keep-alive lines while idling (Dovecot, every
/// 2 minutes), a timeout can end up to 30 s late.
///
/// # Safety
/// `exists` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_idle(
    s: *mut EmailSession,
    timeout_ms: u32,
    exists: *mut u32,
) -> IntPtr {
    status_call(|| {
        // SAFETY: NULL or writable by contract.
        unsafe { put(exists, 0) };
        with_session(s, |session| {
            let (changed, count) = session.idle(Duration::from_millis(u64::from(timeout_ms)))?;
            // SAFETY: NULL or writable by contract.
            unsafe { put(exists, count) };
            Ok(if changed { EMAIL_OK } else { EMAIL_OUT })
        })
    })
}

// ----- the same, on a message read earlier -----

/// The UID of a message read earlier, after checking that the selected folder's message with
/// that UID is that message (same size and Message-ID): a message read from another folder
/// must not act on whatever has the same UID here.
fn checked_uid(session: &mut crate::core::Session, m: *const EmailMessage) -> Result<u32, Failure> {
    let uid = email_message_uid(m);
    if uid == 0 {
        return Err(Failure::handle("message"));
    }
    let size = email_message_size(m);
    let id = email_message_message_id(m);
    let id = if id.is_null() {
        String::new()
    } else {
        // SAFETY: a NUL-terminated string owned by the live message.
        unsafe { CStr::from_ptr(id) }.to_string_lossy().into_owned()
    };
    session.check_identity(uid, size, &id)?;
    Ok(uid)
}

/// Fetches the whole message (body and attachments) for a message read with
/// `EMAIL_READ_HEADERS` (WINDEV's header-first reading), from the session it was read with,
/// whose selected folder must still be the message's folder. Afterwards the message's body,
/// HTML, attachments and source accessors give the whole message; strings handed out before
/// stay valid. A running read iteration is not disturbed. Never sets \Seen. Loading a message
/// twice does nothing.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_HANDLE`, `EMAIL_ERR_NOT_FOUND` (the message is gone or
/// another folder is selected), or a network error.
#[no_mangle]
pub extern "C" fn email_message_load_body(s: *mut EmailSession, m: *const EmailMessage) -> IntPtr {
    status_call(|| {
        // The message is checked first: a bad message handle is reported as such.
        crate::ffi::message::require_live(m)?;
        with_session(s, |session| {
            crate::ffi::message::load_body(m, |msg| Ok(session.load_full(msg)?))
        })
    })
}

/// Marks a message read earlier (from the selected folder) read or unread, as
/// `email_mark_read`. The message object keeps the flags it was read with.
///
/// Returns as `email_mark_read`; `EMAIL_ERR_HANDLE` for an invalid message, and
/// `EMAIL_ERR_NOT_FOUND` when the selected folder does not hold this message (it was read from
/// another folder, or is gone).
#[no_mangle]
pub extern "C" fn email_message_mark_read(
    s: *mut EmailSession,
    m: *const EmailMessage,
    read: i32,
) -> IntPtr {
    status_call(|| {
        with_session(s, |session| {
            let uid = checked_uid(session, m)?;
            session.store_flags(uid, flags::SEEN, &[], read != 0)?;
            Ok(EMAIL_OK)
        })
    })
}

/// `email_set_flags` on a message read earlier (from the selected folder); returns as
/// `email_message_mark_read`.
#[no_mangle]
pub extern "C" fn email_message_set_flags(
    s: *mut EmailSession,
    m: *const EmailMessage,
    flags: u32,
    add: i32,
) -> IntPtr {
    status_call(|| {
        crate::core::search::check_flags(flags)?;
        with_session(s, |session| {
            let uid = checked_uid(session, m)?;
            session.store_flags(uid, flags, &[], add != 0)?;
            Ok(EMAIL_OK)
        })
    })
}

/// `email_delete_message` on a message read earlier (from the selected folder); returns as
/// `email_message_mark_read`.
#[no_mangle]
pub extern "C" fn email_message_delete(s: *mut EmailSession, m: *const EmailMessage) -> IntPtr {
    status_call(|| {
        with_session(s, |session| {
            let uid = checked_uid(session, m)?;
            session.delete_message(uid)?;
            Ok(EMAIL_OK)
        })
    })
}

/// `email_move_message` on a message read earlier (from the selected folder); returns as
/// `email_move_message`, and `EMAIL_ERR_HANDLE` for an invalid message.
///
/// # Safety
/// `folder` must be NULL or NUL-terminated; `new_uid` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_message_move(
    s: *mut EmailSession,
    m: *const EmailMessage,
    folder: *const c_char,
    new_uid: *mut u32,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        transfer(s, folder, new_uid, |session, folder| {
            let uid = checked_uid(session, m)?;
            Ok(session.move_message(uid, folder)?)
        })
    }
}

/// `email_copy_message` on a message read earlier (from the selected folder).
///
/// # Safety
/// `folder` must be NULL or NUL-terminated; `new_uid` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn email_message_copy(
    s: *mut EmailSession,
    m: *const EmailMessage,
    folder: *const c_char,
    new_uid: *mut u32,
) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe {
        transfer(s, folder, new_uid, |session, folder| {
            let uid = checked_uid(session, m)?;
            Ok(session.copy_message(uid, folder)?)
        })
    }
}
