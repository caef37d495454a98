//! `EmailSearch`: typed search criteria, combined with AND (by default), OR and NOT; and
//! `EmailUids`: the UIDs a search found.
//!
//! Build a query with `email_search_new`, add criteria (each one must hold), and run it with
//! `email_search` (UIDs) or `email_read_first_search` (messages, then `email_read_next`).
//! For "either" and "not", build sub-queries and add them with `email_search_or` /
//! `email_search_not`: they are copied, so the sub-queries stay the caller's to free.
//!
//! Every value is checked when it is added: CR, LF or NUL give `EMAIL_ERR_ARGUMENT` and the
//! query is left as it was, so nothing bad can ever reach the server. Values are sent as the
//! IMAP grammar requires (quoted with `\` escapes; non-ASCII as literals with `CHARSET UTF-8`).

use crate::ffi::IntPtr;
use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use crate::core::search::{imap_date, Criterion, DateKey, SearchQuery, TextField};
use crate::ffi::status::{set_last_error, EMAIL_OK};
use crate::ffi::util::{arg_str, boundary, lock, status_call, Failure, Owner, Registry};

/// Search criteria (opaque). Made by `email_search_new`, freed by `email_search_free`. Not
/// tied to a session: one query can be run on several sessions and folders. Calls on one
/// query are serialized.
pub struct EmailSearch {
    query: Mutex<SearchQuery>,
}

/// The UIDs found by `email_search` (opaque, immutable), ascending. Freed by
/// `email_uids_free`; it outlives its session.
pub struct EmailUids {
    uids: Vec<u32>,
}

static QUERIES: Registry<EmailSearch> = Registry::new();
static UIDS: Registry<EmailUids> = Registry::new();

/// A copy of the criteria of a live query.
pub(crate) fn query_of(q: *const EmailSearch) -> Result<SearchQuery, Failure> {
    let handle = QUERIES.get(q).ok_or_else(|| Failure::handle("search"))?;
    let query = lock(&handle.query).clone();
    Ok(query)
}

/// A new host-owned UID list.
pub(crate) fn uids_into_handle(uids: Vec<u32>) -> *mut EmailUids {
    UIDS.insert(Arc::new(EmailUids { uids }), Owner::Host)
}

/// Adds the criterion `make` builds to a live query.
fn add(q: *mut EmailSearch, make: impl FnOnce() -> Result<Criterion, Failure>) -> isize {
    status_call(|| {
        let handle = QUERIES.get(q).ok_or_else(|| Failure::handle("search"))?;
        let criterion = make()?;
        lock(&handle.query).push(criterion)?;
        Ok(EMAIL_OK)
    })
}

/// Adds a text criterion.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
unsafe fn add_text(q: *mut EmailSearch, field: TextField, value: *const c_char) -> isize {
    add(q, || {
        // SAFETY: contract of the callers.
        let value = unsafe { arg_str(value, "value") }?;
        Ok(Criterion::Text {
            field,
            value: value.to_string(),
        })
    })
}

fn add_date(q: *mut EmailSearch, key: DateKey, unix_time: i64) -> isize {
    add(q, || {
        Ok(Criterion::Date {
            key,
            date: imap_date(unix_time)?,
        })
    })
}

/// A new, empty query: it matches every message until criteria are added. Free it with
/// `email_search_free`. Never NULL (except when out of memory, which aborts).
#[no_mangle]
pub extern "C" fn email_search_new() -> *mut EmailSearch {
    boundary(std::ptr::null_mut(), || {
        set_last_error(EMAIL_OK, "");
        QUERIES.insert(
            Arc::new(EmailSearch {
                query: Mutex::new(SearchQuery::new()),
            }),
            Owner::Host,
        )
    })
}

/// Frees a query. NULL, or a query already freed: nothing happens. Queries it was added to
/// (with `email_search_or`, ...) keep their copy.
#[no_mangle]
pub extern "C" fn email_search_free(q: *mut EmailSearch) {
    boundary((), || {
        QUERIES.remove_owned(q);
    })
}

/// Adds: the message has (`has` non-zero) every flag of `flags`, or has none of them (`has`
/// 0). `flags` combines `EMAIL_FLAG_SEEN` (read; with `has` 0: unread), `EMAIL_FLAG_ANSWERED`,
/// `EMAIL_FLAG_FLAGGED`, `EMAIL_FLAG_DELETED` and `EMAIL_FLAG_DRAFT`.
///
/// Returns `EMAIL_OK`, `EMAIL_ERR_ARGUMENT` (no flag, or unknown bits) or `EMAIL_ERR_HANDLE`.
#[no_mangle]
pub extern "C" fn email_search_flags(q: *mut EmailSearch, flags: u32, has: i32) -> IntPtr {
    add(q, || {
        Ok(Criterion::Flags {
            bits: flags,
            set: has != 0,
        })
    })
}

/// Adds: the message has (`has` non-zero) or has not (0) this keyword (e.g. `$Forwarded`).
/// A keyword is an IMAP atom: `EMAIL_ERR_ARGUMENT` for spaces, `( ) { % * " \ ]`, non-ASCII or
/// control characters.
///
/// # Safety
/// `keyword` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_keyword(
    q: *mut EmailSearch,
    keyword: *const c_char,
    has: i32,
) -> IntPtr {
    add(q, || {
        // SAFETY: contract of this function.
        let keyword = unsafe { arg_str(keyword, "keyword") }?;
        Ok(Criterion::Keyword {
            keyword: keyword.to_string(),
            set: has != 0,
        })
    })
}

/// Adds: the From header contains `value` (UTF-8; servers compare case-insensitively).
/// `EMAIL_ERR_ARGUMENT` for NULL, invalid UTF-8, CR, LF or NUL. The same holds for the other
/// text criteria below.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_from(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::From, value) }
}

/// Adds: the To header contains `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_to(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::To, value) }
}

/// Adds: the Cc header contains `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_cc(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::Cc, value) }
}

/// Adds: the Bcc header contains `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_bcc(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::Bcc, value) }
}

/// Adds: the Subject contains `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_subject(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::Subject, value) }
}

/// Adds: the body (not the headers) contains `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_body(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::Body, value) }
}

/// Adds: the headers or the body contain `value`.
///
/// # Safety
/// `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_text(q: *mut EmailSearch, value: *const c_char) -> IntPtr {
    // SAFETY: forwarded contract.
    unsafe { add_text(q, TextField::Text, value) }
}

/// Adds: header field `name` (e.g. "X-Priority") contains `value`; an empty `value` matches
/// every message that has the field.
///
/// # Safety
/// `name` and `value` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn email_search_header(
    q: *mut EmailSearch,
    name: *const c_char,
    value: *const c_char,
) -> IntPtr {
    add(q, || {
        // SAFETY: contract of this function.
        let name = unsafe { arg_str(name, "name") }?;
        // SAFETY: contract of this function.
        let value = unsafe { arg_str(value, "value") }?;
        Ok(Criterion::Header {
            name: name.to_string(),
            value: value.to_string(),
        })
    })
}

/// Adds: the message arrived (internal date) on or after the day of `unix_time`.
///
/// IMAP compares whole days: the day is the UTC calendar day that contains `unix_time` (pass
/// e.g. noon UTC of the wanted date), and the server compares it with the day of the
/// message's date in its own time zone. `EMAIL_ERR_ARGUMENT` outside the years 1 to 9999.
/// The same holds for the other date criteria.
#[no_mangle]
pub extern "C" fn email_search_since(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::Since, unix_time)
}

/// Adds: the message arrived before the day of `unix_time`.
#[no_mangle]
pub extern "C" fn email_search_before(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::Before, unix_time)
}

/// Adds: the message arrived on the day of `unix_time`.
#[no_mangle]
pub extern "C" fn email_search_on(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::On, unix_time)
}

/// Adds: the message's Date header is on or after the day of `unix_time`.
#[no_mangle]
pub extern "C" fn email_search_sent_since(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::SentSince, unix_time)
}

/// Adds: the message's Date header is before the day of `unix_time`.
#[no_mangle]
pub extern "C" fn email_search_sent_before(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::SentBefore, unix_time)
}

/// Adds: the message's Date header is on the day of `unix_time`.
#[no_mangle]
pub extern "C" fn email_search_sent_on(q: *mut EmailSearch, unix_time: i64) -> IntPtr {
    add_date(q, DateKey::SentOn, unix_time)
}

/// Adds: the message is larger than `size` bytes (RFC822.SIZE).
#[no_mangle]
pub extern "C" fn email_search_larger(q: *mut EmailSearch, size: u32) -> IntPtr {
    add(q, || Ok(Criterion::Larger(size)))
}

/// Adds: the message is smaller than `size` bytes.
#[no_mangle]
pub extern "C" fn email_search_smaller(q: *mut EmailSearch, size: u32) -> IntPtr {
    add(q, || Ok(Criterion::Smaller(size)))
}

/// Adds: the message's UID is from `first` to `last` inclusive; `last` 0 means up to the
/// newest message. `EMAIL_ERR_ARGUMENT` when `first` is 0 or `last` < `first`. For a set of
/// ranges, OR several single-range queries.
#[no_mangle]
pub extern "C" fn email_search_uid_range(q: *mut EmailSearch, first: u32, last: u32) -> IntPtr {
    add(q, || {
        Ok(Criterion::Uids {
            first,
            last: (last != 0).then_some(last),
        })
    })
}

/// Adds a copy of the query `sub` as one criterion: every criterion of `sub` must hold (useful
/// to group criteria). `q` and `sub` may be the same query.
#[no_mangle]
pub extern "C" fn email_search_and(q: *mut EmailSearch, sub: *const EmailSearch) -> IntPtr {
    add(q, || Ok(Criterion::And(query_of(sub)?)))
}

/// Adds: query `a` or query `b` matches (copies of both are taken; an empty query matches
/// everything). `a` and `b` stay the caller's to free; any of them may be `q` itself.
/// Example, "from bob or from carol": two queries with `email_search_from`, then
/// `email_search_or(q, bob, carol)`.
#[no_mangle]
pub extern "C" fn email_search_or(
    q: *mut EmailSearch,
    a: *const EmailSearch,
    b: *const EmailSearch,
) -> IntPtr {
    add(q, || Ok(Criterion::Or(query_of(a)?, query_of(b)?)))
}

/// Adds: query `sub` does not match (a copy of it is taken).
#[no_mangle]
pub extern "C" fn email_search_not(q: *mut EmailSearch, sub: *const EmailSearch) -> IntPtr {
    add(q, || Ok(Criterion::Not(query_of(sub)?)))
}

/// Runs an accessor on a live UID list: `fallback` (and `EMAIL_ERR_HANDLE`) for an invalid one.
fn with_uids<R>(list: *const EmailUids, fallback: R, f: impl FnOnce(&EmailUids) -> R) -> R {
    UIDS.get_recorded(list, "UID list")
        .map_or(fallback, |l| f(&l))
}

/// Number of UIDs in the list; 0 for NULL or an invalid list.
#[no_mangle]
pub extern "C" fn email_uids_count(list: *const EmailUids) -> usize {
    boundary(0, || with_uids(list, 0, |l| l.uids.len()))
}

/// UID `index` (0-based; ascending order); 0 when out of range or the list is invalid.
#[no_mangle]
pub extern "C" fn email_uids_get(list: *const EmailUids, index: usize) -> u32 {
    boundary(0, || {
        with_uids(list, 0, |l| l.uids.get(index).copied().unwrap_or(0))
    })
}

/// All the UIDs as an array of `*count` values (ascending), owned by the list: valid until it
/// is freed. NULL (and `*count = 0`) for an empty or invalid list. `count` may be NULL.
///
/// # Safety
/// `count` must be NULL or point to writable storage for one size_t.
#[no_mangle]
pub unsafe extern "C" fn email_uids_data(list: *const EmailUids, count: *mut usize) -> *const u32 {
    boundary(std::ptr::null(), || {
        let (ptr, n) = with_uids(list, (std::ptr::null(), 0), |l| {
            if l.uids.is_empty() {
                (std::ptr::null(), 0)
            } else {
                (l.uids.as_ptr(), l.uids.len())
            }
        });
        if !count.is_null() {
            // SAFETY: non-NULL and writable by contract.
            unsafe { *count = n };
        }
        ptr
    })
}

/// Frees a UID list. NULL, or a list already freed: nothing happens.
#[no_mangle]
pub extern "C" fn email_uids_free(list: *mut EmailUids) {
    boundary((), || {
        UIDS.remove_owned(list);
    })
}
