//! `EmailStrings`: an immutable list of strings, e.g. the folders of `email_list_folders`.
//! A folder list also carries each folder's hierarchy delimiter and attributes.

use std::ffi::{c_char, CString};
use std::sync::Arc;

use crate::core::session::mailbox::{folder_flags as F, Folder};
use crate::ffi::util::{boundary, to_cstring, Owner, Registry};

/// Folder attribute: \Noselect (or \NonExistent): the name is only a level of the hierarchy
/// and cannot be selected.
pub const EMAIL_FOLDER_NOSELECT: u32 = 0x1;
/// Folder attribute: \Noinferiors: no folder can be created below it.
pub const EMAIL_FOLDER_NOINFERIORS: u32 = 0x2;
/// Folder attribute: \HasChildren: there are folders below it.
pub const EMAIL_FOLDER_HAS_CHILDREN: u32 = 0x4;
/// Folder attribute: \HasNoChildren.
pub const EMAIL_FOLDER_HAS_NO_CHILDREN: u32 = 0x8;
/// Folder attribute: \Marked: the server thinks it has new messages.
pub const EMAIL_FOLDER_MARKED: u32 = 0x10;
/// Folder attribute: \Unmarked.
pub const EMAIL_FOLDER_UNMARKED: u32 = 0x20;
/// Folder attribute: \NonExistent (always with `EMAIL_FOLDER_NOSELECT`).
pub const EMAIL_FOLDER_NONEXISTENT: u32 = 0x40;
/// Folder attribute: \Subscribed.
pub const EMAIL_FOLDER_SUBSCRIBED: u32 = 0x80;
/// The inbox: the folder named INBOX (any case), or marked \Inbox by XLIST.
pub const EMAIL_FOLDER_INBOX: u32 = 0x100;
/// Special use \All (Gmail's "All Mail"; XLIST \AllMail).
pub const EMAIL_FOLDER_ALL: u32 = 0x200;
/// Special use \Archive.
pub const EMAIL_FOLDER_ARCHIVE: u32 = 0x400;
/// Special use \Drafts.
pub const EMAIL_FOLDER_DRAFTS: u32 = 0x800;
/// Special use \Flagged (XLIST \Starred).
pub const EMAIL_FOLDER_FLAGGED: u32 = 0x1000;
/// Special use \Junk (XLIST \Spam).
pub const EMAIL_FOLDER_JUNK: u32 = 0x2000;
/// Special use \Sent.
pub const EMAIL_FOLDER_SENT: u32 = 0x4000;
/// Special use \Trash.
pub const EMAIL_FOLDER_TRASH: u32 = 0x8000;
/// Special use \Important (RFC 8457, XLIST).
pub const EMAIL_FOLDER_IMPORTANT: u32 = 0x10000;

// The C values are the core's.
const _: () = {
    assert!(EMAIL_FOLDER_NOSELECT == F::NOSELECT);
    assert!(EMAIL_FOLDER_NOINFERIORS == F::NOINFERIORS);
    assert!(EMAIL_FOLDER_HAS_CHILDREN == F::HAS_CHILDREN);
    assert!(EMAIL_FOLDER_HAS_NO_CHILDREN == F::HAS_NO_CHILDREN);
    assert!(EMAIL_FOLDER_MARKED == F::MARKED);
    assert!(EMAIL_FOLDER_UNMARKED == F::UNMARKED);
    assert!(EMAIL_FOLDER_NONEXISTENT == F::NONEXISTENT);
    assert!(EMAIL_FOLDER_SUBSCRIBED == F::SUBSCRIBED);
    assert!(EMAIL_FOLDER_INBOX == F::INBOX);
    assert!(EMAIL_FOLDER_ALL == F::ALL);
    assert!(EMAIL_FOLDER_ARCHIVE == F::ARCHIVE);
    assert!(EMAIL_FOLDER_DRAFTS == F::DRAFTS);
    assert!(EMAIL_FOLDER_FLAGGED == F::FLAGGED);
    assert!(EMAIL_FOLDER_JUNK == F::JUNK);
    assert!(EMAIL_FOLDER_SENT == F::SENT);
    assert!(EMAIL_FOLDER_TRASH == F::TRASH);
    assert!(EMAIL_FOLDER_IMPORTANT == F::IMPORTANT);
};

/// An immutable list of UTF-8 strings (opaque): the folder names of `email_list_folders` /
/// `email_list_subscribed`, with each folder's delimiter and attributes. Freed by
/// `email_strings_free`; it outlives its session. Safe to read from several threads at once.
pub struct EmailStrings {
    items: Vec<Item>,
}

struct Item {
    text: CString,
    delimiter: CString,
    attributes: u32,
    attribute_text: CString,
}

static STRINGS: Registry<EmailStrings> = Registry::new();

/// A new host-owned list of folders.
pub(crate) fn folders_into_handle(folders: Vec<Folder>) -> *mut EmailStrings {
    let items = folders
        .into_iter()
        .map(|f| Item {
            text: to_cstring(&f.name),
            delimiter: to_cstring(f.delimiter.as_deref().unwrap_or("")),
            attributes: f.attributes,
            attribute_text: to_cstring(&f.attribute_text),
        })
        .collect();
    STRINGS.insert(Arc::new(EmailStrings { items }), Owner::Host)
}

/// Runs an accessor on a live list: `fallback` (and `EMAIL_ERR_HANDLE`) for an invalid one.
fn with_list<R>(list: *const EmailStrings, fallback: R, f: impl FnOnce(&EmailStrings) -> R) -> R {
    STRINGS
        .get_recorded(list, "string list")
        .map_or(fallback, |l| f(&l))
}

fn item_string(
    list: *const EmailStrings,
    index: usize,
    field: impl FnOnce(&Item) -> &CString,
) -> *const c_char {
    boundary(std::ptr::null(), || {
        with_list(list, std::ptr::null(), |l| {
            l.items
                .get(index)
                .map_or(std::ptr::null(), |i| field(i).as_ptr())
        })
    })
}

/// Number of strings in the list; 0 for NULL or an invalid list (then `email_last_error()` is
/// `EMAIL_ERR_HANDLE`).
#[no_mangle]
pub extern "C" fn email_strings_count(list: *const EmailStrings) -> usize {
    boundary(0, || with_list(list, 0, |l| l.items.len()))
}

/// String `index` (0-based), UTF-8: for a folder list, the folder's full name (decoded from
/// IMAP's modified UTF-7), as `email_select_folder` and the other folder functions take it.
/// Owned by the list: valid until it is freed. NULL when `index` is out of range or the list
/// is invalid.
#[no_mangle]
pub extern "C" fn email_strings_get(list: *const EmailStrings, index: usize) -> *const c_char {
    item_string(list, index, |i| &i.text)
}

/// The hierarchy delimiter of folder `index` (usually "/" or "."), "" when the server has no
/// hierarchy (or the list is not a folder list). Owned by the list. NULL when out of range.
#[no_mangle]
pub extern "C" fn email_strings_delimiter(
    list: *const EmailStrings,
    index: usize,
) -> *const c_char {
    item_string(list, index, |i| &i.delimiter)
}

/// The attributes of folder `index`: a combination of `EMAIL_FOLDER_*` bits (\Noselect,
/// \HasChildren, special uses such as `EMAIL_FOLDER_SENT` or `EMAIL_FOLDER_TRASH`, also from
/// Gmail's XLIST names). 0 when out of range, for a list that is not a folder list, or an
/// invalid list.
#[no_mangle]
pub extern "C" fn email_strings_attributes(list: *const EmailStrings, index: usize) -> u32 {
    boundary(0, || {
        with_list(list, 0, |l| l.items.get(index).map_or(0, |i| i.attributes))
    })
}

/// The attributes of folder `index` as the server wrote them, separated by spaces (e.g.
/// `\HasNoChildren \Sent`), including those without an `EMAIL_FOLDER_*` bit. Owned by the
/// list. NULL when out of range.
#[no_mangle]
pub extern "C" fn email_strings_attribute_text(
    list: *const EmailStrings,
    index: usize,
) -> *const c_char {
    item_string(list, index, |i| &i.attribute_text)
}

/// Frees the list and its strings. NULL, or a list already freed: nothing happens.
#[no_mangle]
pub extern "C" fn email_strings_free(list: *mut EmailStrings) {
    boundary((), || {
        STRINGS.remove_owned(list);
    })
}
