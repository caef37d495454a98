//! `EmailList`: the messages returned by `email_get_all`.

use std::sync::Arc;

use crate::core;
use crate::ffi::message::{self, EmailMessage};
use crate::ffi::util::{boundary, Owner, Registry};

/// An immutable list of messages (opaque). Made by `email_get_all`, freed by `email_list_free`.
pub struct EmailList {
    messages: Vec<Arc<EmailMessage>>,
}

static LISTS: Registry<EmailList> = Registry::new();

/// The live list behind a handle, recording the outcome as this thread's last error.
fn live(list: *const EmailList) -> Option<Arc<EmailList>> {
    LISTS.get_recorded(list, "list")
}

/// Wraps messages in a new list handle; each message is registered as owned by the list.
pub(crate) fn into_handle(messages: Vec<core::Message>) -> *mut EmailList {
    let list = Arc::new(EmailList {
        messages: messages.into_iter().map(message::new_shared).collect(),
    });
    let ptr = Arc::as_ptr(&list) as usize;
    for m in &list.messages {
        message::register_borrowed(m, Owner::Container(ptr));
    }
    LISTS.insert(list, Owner::Host)
}

/// Number of messages in the list; 0 for NULL or an invalid list (then `email_last_error()` is
/// `EMAIL_ERR_HANDLE`).
#[no_mangle]
pub extern "C" fn email_list_count(list: *const EmailList) -> usize {
    boundary(0, || live(list).map_or(0, |l| l.messages.len()))
}

/// The message at `index` (0-based), borrowed from the list: valid until the list is freed, not
/// to be passed to `email_message_free`. NULL when `index` is out of range or the list invalid
/// (then `email_last_error()` is `EMAIL_ERR_HANDLE`).
#[no_mangle]
pub extern "C" fn email_list_get(list: *const EmailList, index: usize) -> *const EmailMessage {
    boundary(std::ptr::null(), || {
        live(list)
            .and_then(|l| l.messages.get(index).map(Arc::as_ptr))
            .unwrap_or(std::ptr::null())
    })
}

/// Frees the list and the messages it holds. NULL, or a list already freed: nothing happens.
#[no_mangle]
pub extern "C" fn email_list_free(list: *mut EmailList) {
    boundary((), || {
        if let Some(l) = LISTS.remove_owned(list) {
            for m in &l.messages {
                message::unregister(Arc::as_ptr(m));
            }
        }
    })
}
