"""imapmail for Python: read and manage mail kept on an IMAP server, through the imapmail C
library (ctypes; no compiler needed).

Example::

    import imapmail

    with imapmail.Session("imap.example.com", user="bob", password=secret) as session:
        for message in session.messages(unread=True):
            print(message.uid, message.sender, message.subject)
            for attachment in message.attachments:
                attachment.save("/tmp/attachments")

The library is found through the environment variable ``IMAPMAIL_LIBRARY``, a copy bundled in
this package, or the system's library paths (see :mod:`imapmail._native`). Every failure raises
an :class:`ImapMailError` subclass.
"""

from __future__ import annotations

from typing import Union

from . import _native
from .constants import Flag, FolderAttr, RecipientKind, Security, Status, TraceDirection
from .errors import (ArgumentError, AuthError, CancelledError, ConnectError, DisconnectedError, HandleError,
                     ImapMailError, ImapTimeoutError, InternalError, LocalIOError, NotFoundError, ProtocolError,
                     ServerError, TLSError, TooLargeError)
from .folders import Folder, FolderStatus, IdleResult
from .message import Attachment, Message, MessageList, Recipient
from .search import Search, Uids
from .session import Progress, Session
from .text import copy_utf8, copy_utf16

__version__ = "0.1.0"

__all__ = [
    # sessions, messages, search, folders
    "Session", "Message", "MessageList", "Attachment", "Recipient", "Search", "Uids", "Folder",
    "FolderStatus", "IdleResult", "Progress",
    # constants
    "Status", "Flag", "FolderAttr", "RecipientKind", "Security", "TraceDirection",
    "FLAG_SEEN", "FLAG_ANSWERED", "FLAG_FLAGGED", "FLAG_DELETED", "FLAG_DRAFT",
    "OK", "OUT", "ERR_ARGUMENT", "ERR_HANDLE", "ERR_CONNECT", "ERR_TLS", "ERR_AUTH", "ERR_SERVER",
    "ERR_PROTOCOL", "ERR_TIMEOUT", "ERR_DISCONNECTED", "ERR_CANCELLED", "ERR_NOT_FOUND",
    "ERR_TOO_LARGE", "ERR_IO", "ERR_INTERNAL",
    # errors
    "ImapMailError", "ArgumentError", "HandleError", "ConnectError", "TLSError", "AuthError",
    "ServerError", "ProtocolError", "ImapTimeoutError", "DisconnectedError", "CancelledError",
    "NotFoundError", "TooLargeError", "LocalIOError", "InternalError",
    # functions
    "version", "status_name", "last_error", "last_error_message", "library_path", "copy_utf16",
    "copy_utf8",
]

FLAG_SEEN, FLAG_ANSWERED, FLAG_FLAGGED, FLAG_DELETED, FLAG_DRAFT = (
    Flag.SEEN, Flag.ANSWERED, Flag.FLAGGED, Flag.DELETED, Flag.DRAFT)
OK, OUT = Status.OK, Status.OUT
ERR_ARGUMENT, ERR_HANDLE, ERR_CONNECT, ERR_TLS, ERR_AUTH = (
    Status.ERR_ARGUMENT, Status.ERR_HANDLE, Status.ERR_CONNECT, Status.ERR_TLS, Status.ERR_AUTH)
ERR_SERVER, ERR_PROTOCOL, ERR_TIMEOUT, ERR_DISCONNECTED, ERR_CANCELLED = (
    Status.ERR_SERVER, Status.ERR_PROTOCOL, Status.ERR_TIMEOUT, Status.ERR_DISCONNECTED, Status.ERR_CANCELLED)
ERR_NOT_FOUND, ERR_TOO_LARGE, ERR_IO, ERR_INTERNAL = (
    Status.ERR_NOT_FOUND, Status.ERR_TOO_LARGE, Status.ERR_IO, Status.ERR_INTERNAL)

library_path = _native.library_path


def version() -> str:
    """The library's version, e.g. ``"0.1.0"``."""
    return _native.text(_native.lib().email_version()) or ""


def status_name(status: int) -> str:
    """The name of a status code, e.g. ``"EMAIL_ERR_TLS"`` (``"EMAIL_ERR_UNKNOWN"`` for an
    unknown code)."""
    return _native.text(_native.lib().email_status_name(int(status))) or ""


def last_error() -> Union[Status, int]:
    """The status of this thread's last call into the library."""
    rc = int(_native.lib().email_last_error())
    try:
        return Status(rc)
    except ValueError:
        return rc


def last_error_message() -> str:
    """The description of this thread's last failure (``""`` after a success)."""
    return _native.text(_native.lib().email_last_error_message()) or ""
