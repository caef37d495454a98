"""Loading the imapmail C library and the ctypes prototype of every export of imapmail.h.

The library is looked for, in order:

1. the path in the environment variable ``IMAPMAIL_LIBRARY`` (only there, when it is set);
2. a copy bundled inside this package (``imapmail/libimapmail.so``, ``imapmail.dll``,
   ``libimapmail.dylib``);
3. the system: ``ctypes.util.find_library("imapmail")``, then the plain names
   (``libimapmail.so.0``, ``libimapmail.so``, ``imapmail.dll``, ``libimapmail.dylib``) as the
   dynamic loader resolves them (``LD_LIBRARY_PATH``, the ldconfig cache, ``PATH`` on Windows).

Every signed integer result of the C ABI is an ``intptr_t`` (statuses, counts, 0/1 answers),
declared here as ``c_ssize_t``; ``email_message_timestamp`` alone is an ``int64_t``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

# ---------------------------------------------------------------------------------------------
# C types

c_status = ctypes.c_ssize_t  # intptr_t: every status result (EMAIL_OK, EMAIL_OUT, EMAIL_ERR_*)
c_ssize = ctypes.c_ssize_t  # intptr_t: a count or a negative status (email_count)
c_ssize_bool = ctypes.c_ssize_t  # intptr_t: 0 or 1 (email_message_is_read, ...)
c_str = ctypes.c_char_p  # const char * (NUL-terminated UTF-8)
c_handle = ctypes.c_void_p  # EmailSession*, EmailMessage*, EmailList*, EmailSearch*, ...
c_handle_p = ctypes.POINTER(ctypes.c_void_p)  # out-parameter for a new handle
c_size = ctypes.c_size_t
c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_u8_p = ctypes.POINTER(ctypes.c_uint8)
c_u16_p = ctypes.POINTER(ctypes.c_uint16)
c_char_buf = ctypes.POINTER(ctypes.c_char)  # char * (a buffer C writes into)
c_u32 = ctypes.c_uint32
c_u32_p = ctypes.POINTER(ctypes.c_uint32)
c_i32 = ctypes.c_int32
c_i64 = ctypes.c_int64
c_u64 = ctypes.c_uint64
c_u64_p = ctypes.POINTER(ctypes.c_uint64)

#: ``int32_t (*)(uint64_t done, uint64_t total, void *user_data)``
PROGRESS_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_void_p)
#: ``void (*)(int32_t direction, const uint8_t *line, size_t len, void *user_data)``
TRACE_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int32, c_u8_p, ctypes.c_size_t, ctypes.c_void_p)

_S, _M, _L, _Q, _U, _F = (c_handle,) * 6  # session, message, list, search, uids, strings

#: name -> (restype, argtypes), in the order of imapmail.h. tests/test_coverage.py checks that
#: every function of the header is here with the header's types.
PROTOTYPES: Dict[str, Tuple[Any, List[Any]]] = {
    # errors and version
    "email_last_error": (c_status, []),
    "email_last_error_message": (c_str, []),
    "email_version": (c_str, []),
    "email_status_name": (c_str, [c_status]),
    # message lists
    "email_list_count": (c_size, [_L]),
    "email_list_get": (c_handle, [_L, c_size]),
    "email_list_free": (None, [_L]),
    # messages
    "email_message_free": (None, [_M]),
    "email_message_uid": (c_u32, [_M]),
    "email_message_flags": (c_u32, [_M]),
    "email_message_is_read": (c_ssize_bool, [_M]),
    "email_message_size": (c_u64, [_M]),
    "email_message_subject": (c_str, [_M]),
    "email_message_sender": (c_str, [_M]),
    "email_message_sender_address": (c_str, [_M]),
    "email_message_sender_name": (c_str, [_M]),
    "email_message_recipient_count": (c_size, [_M, c_i32]),
    "email_message_recipient_address": (c_str, [_M, c_i32, c_size]),
    "email_message_recipient_name": (c_str, [_M, c_i32, c_size]),
    "email_message_date": (c_str, [_M]),
    "email_message_timestamp": (c_i64, [_M]),
    "email_message_message_id": (c_str, [_M]),
    "email_message_header": (c_str, [_M, c_str]),
    "email_message_text": (c_str, [_M]),
    "email_message_html": (c_str, [_M]),
    "email_message_source": (c_u8_p, [_M, c_size_p]),
    "email_message_error": (c_status, [_M]),
    "email_message_error_message": (c_str, [_M]),
    "email_message_keyword_count": (c_size, [_M]),
    "email_message_keyword": (c_str, [_M, c_size]),
    "email_message_attachment_count": (c_size, [_M]),
    "email_attachment_name": (c_str, [_M, c_size]),
    "email_attachment_content_type": (c_str, [_M, c_size]),
    "email_attachment_content_id": (c_str, [_M, c_size]),
    "email_attachment_is_inline": (c_ssize_bool, [_M, c_size]),
    "email_attachment_data": (c_u8_p, [_M, c_size, c_size_p]),
    "email_attachment_save": (c_status, [_M, c_size, c_str]),
    "email_message_load_body": (c_status, [_S, _M]),
    # search queries
    "email_search_new": (c_handle, []),
    "email_search_free": (None, [_Q]),
    "email_search_flags": (c_status, [_Q, c_u32, c_i32]),
    "email_search_keyword": (c_status, [_Q, c_str, c_i32]),
    "email_search_from": (c_status, [_Q, c_str]),
    "email_search_to": (c_status, [_Q, c_str]),
    "email_search_cc": (c_status, [_Q, c_str]),
    "email_search_bcc": (c_status, [_Q, c_str]),
    "email_search_subject": (c_status, [_Q, c_str]),
    "email_search_body": (c_status, [_Q, c_str]),
    "email_search_text": (c_status, [_Q, c_str]),
    "email_search_header": (c_status, [_Q, c_str, c_str]),
    "email_search_since": (c_status, [_Q, c_i64]),
    "email_search_before": (c_status, [_Q, c_i64]),
    "email_search_on": (c_status, [_Q, c_i64]),
    "email_search_sent_since": (c_status, [_Q, c_i64]),
    "email_search_sent_before": (c_status, [_Q, c_i64]),
    "email_search_sent_on": (c_status, [_Q, c_i64]),
    "email_search_larger": (c_status, [_Q, c_u32]),
    "email_search_smaller": (c_status, [_Q, c_u32]),
    "email_search_uid_range": (c_status, [_Q, c_u32, c_u32]),
    "email_search_and": (c_status, [_Q, _Q]),
    "email_search_or": (c_status, [_Q, _Q, _Q]),
    "email_search_not": (c_status, [_Q, _Q]),
    # UID lists
    "email_uids_count": (c_size, [_U]),
    "email_uids_get": (c_u32, [_U, c_size]),
    "email_uids_data": (c_u32_p, [_U, c_size_p]),
    "email_uids_free": (None, [_U]),
    # sessions
    "email_start_session": (c_handle, [c_str, ctypes.c_uint16, c_str, c_str, c_u32]),
    "email_start_session_ex": (c_handle, [c_str, ctypes.c_uint16, c_str, c_str, c_u32, c_str]),
    "email_close_session": (c_status, [_S]),
    "email_session_error": (c_status, [_S]),
    "email_session_error_message": (c_str, [_S]),
    "email_read_first": (c_status, [_S, c_u32, c_handle_p]),
    "email_read_next": (c_status, [_S, c_handle_p]),
    "email_get_all": (c_status, [_S, c_u32, c_handle_p]),
    # folders
    "email_list_folders": (c_status, [_S, c_handle_p]),
    "email_list_subscribed": (c_status, [_S, c_handle_p]),
    "email_select_folder": (c_status, [_S, c_str, c_i32]),
    "email_current_folder": (c_str, [_S]),
    "email_create_folder": (c_status, [_S, c_str]),
    "email_delete_folder": (c_status, [_S, c_str]),
    "email_rename_folder": (c_status, [_S, c_str, c_str]),
    "email_subscribe_folder": (c_status, [_S, c_str]),
    "email_unsubscribe_folder": (c_status, [_S, c_str]),
    "email_folder_status": (c_status, [_S, c_str, c_u32_p, c_u32_p, c_u32_p, c_u32_p]),
    # flags, moving, appending, searching, counting, waiting
    "email_mark_read": (c_status, [_S, c_u32, c_i32]),
    "email_set_flags": (c_status, [_S, c_u32, c_u32, c_i32]),
    "email_add_keyword": (c_status, [_S, c_u32, c_str]),
    "email_remove_keyword": (c_status, [_S, c_u32, c_str]),
    "email_delete_message": (c_status, [_S, c_u32]),
    "email_expunge": (c_status, [_S]),
    "email_move_message": (c_status, [_S, c_u32, c_str, c_u32_p]),
    "email_copy_message": (c_status, [_S, c_u32, c_str, c_u32_p]),
    "email_append": (c_status, [_S, c_str, c_u8_p, c_size, c_u32, c_i64, c_u32_p]),
    "email_search": (c_status, [_S, _Q, c_handle_p]),
    "email_read_first_search": (c_status, [_S, _Q, c_u32, c_handle_p]),
    "email_count": (c_ssize, [_S, c_u32]),
    "email_idle": (c_status, [_S, c_u32, c_u32_p]),
    "email_message_mark_read": (c_status, [_S, _M, c_i32]),
    "email_message_set_flags": (c_status, [_S, _M, c_u32, c_i32]),
    "email_message_delete": (c_status, [_S, _M]),
    "email_message_move": (c_status, [_S, _M, c_str, c_u32_p]),
    "email_message_copy": (c_status, [_S, _M, c_str, c_u32_p]),
    "email_set_progress_callback": (c_status, [_S, PROGRESS_CALLBACK, ctypes.c_void_p]),
    "email_session_progress": (c_status, [_S, c_u64_p, c_u64_p]),
    "email_session_trace_next": (c_status, [_S, c_char_buf, c_size]),
    "email_set_trace_callback": (c_status, [_S, TRACE_CALLBACK, ctypes.c_void_p]),
    # string lists (folder lists)
    "email_strings_count": (c_size, [_F]),
    "email_strings_get": (c_str, [_F, c_size]),
    "email_strings_delimiter": (c_str, [_F, c_size]),
    "email_strings_attributes": (c_u32, [_F, c_size]),
    "email_strings_attribute_text": (c_str, [_F, c_size]),
    "email_strings_free": (None, [_F]),
    # text helpers
    "email_copy_utf16": (c_size, [c_str, c_u16_p, c_size]),
    "email_copy_utf8": (c_size, [c_str, c_char_buf, c_size]),
}


# ---------------------------------------------------------------------------------------------
# Finding and loading the library


def _names() -> List[str]:
    if sys.platform == "win32":
        return ["imapmail.dll"]
    if sys.platform == "darwin":
        return ["libimapmail.0.dylib", "libimapmail.dylib"]
    return ["libimapmail.so.0", "libimapmail.so"]


def candidates() -> Iterator[str]:
    """The places the library is looked for, in order (see the module's documentation)."""
    env = os.environ.get("IMAPMAIL_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _names():
        path = os.path.join(here, name)
        if os.path.exists(path):
            yield path
    found = ctypes.util.find_library("imapmail")
    if found:
        yield found
    yield from _names()


_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None
_lock = threading.Lock()


def _declare(lib: ctypes.CDLL) -> None:
    missing = []
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise OSError("imapmail: the library is too old for this package, it lacks " + ", ".join(missing))


def lib() -> ctypes.CDLL:
    """The loaded library, with every prototype declared (loaded on first use)."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in candidates():
            try:
                loaded = ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path}: {e}")
                continue
            _declare(loaded)
            _lib_path = path
            _lib = loaded
            return loaded
        raise OSError(
            "imapmail: cannot find the imapmail library; install it, or set IMAPMAIL_LIBRARY to "
            "its path (tried: " + "; ".join(tried) + ")")


def library_path() -> str:
    """The path (or name) the library was loaded from."""
    lib()
    assert _lib_path is not None
    return _lib_path


def text(p: Optional[bytes]) -> Optional[str]:
    """A returned C string as str (None for NULL); invalid UTF-8 is replaced, never raised."""
    return None if p is None else p.decode("utf-8", "replace")


def encode(value: Any, what: str) -> bytes:
    """A str (or bytes, or os.PathLike) argument as the UTF-8 bytes C takes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, os.PathLike):
        return os.fsencode(value)
    raise TypeError(f"{what} must be str, not {type(value).__name__}")
