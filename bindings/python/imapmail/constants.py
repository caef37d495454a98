"""The constants of imapmail.h as Python enums (their values are the C values)."""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """A status: ``OK`` (0), ``OUT`` (1, nothing more) or a negative ``ERR_*`` code."""

    OK = 0
    OUT = 1
    ERR_ARGUMENT = -1
    ERR_HANDLE = -2
    ERR_CONNECT = -3
    ERR_TLS = -4
    ERR_AUTH = -5
    ERR_SERVER = -6
    ERR_PROTOCOL = -7
    ERR_TIMEOUT = -8
    ERR_DISCONNECTED = -9
    ERR_CANCELLED = -10
    ERR_NOT_FOUND = -11
    ERR_TOO_LARGE = -12
    ERR_IO = -13
    ERR_INTERNAL = -99


class Flag(enum.IntFlag):
    """System flags of a message (``EMAIL_FLAG_*``)."""

    SEEN = 1
    ANSWERED = 2
    FLAGGED = 4
    DELETED = 8
    DRAFT = 16


class RecipientKind(enum.IntEnum):
    """Which recipient list (``EMAIL_TO``, ``EMAIL_CC``, ``EMAIL_BCC``, ``EMAIL_REPLY_TO``)."""

    TO = 0
    CC = 1
    BCC = 2
    REPLY_TO = 3


class Security(enum.IntEnum):
    """How the connection is secured (``EMAIL_SECURITY_*``)."""

    TLS = 0
    STARTTLS = 1
    NONE = 2


class TraceDirection(enum.IntEnum):
    """Direction of a traced protocol line (``EMAIL_TRACE_*``)."""

    SENT = 0
    RECEIVED = 1


class FolderAttr(enum.IntFlag):
    """Attributes of a folder (``EMAIL_FOLDER_*``): LIST attributes and special uses."""

    NOSELECT = 1
    NOINFERIORS = 2
    HAS_CHILDREN = 4
    HAS_NO_CHILDREN = 8
    MARKED = 16
    UNMARKED = 32
    NONEXISTENT = 64
    SUBSCRIBED = 128
    INBOX = 256
    ALL = 512
    ARCHIVE = 1024
    DRAFTS = 2048
    FLAGGED = 4096
    JUNK = 8192
    SENT = 16384
    TRASH = 32768
    IMPORTANT = 65536


# Start flags (email_start_session) and read flags (email_read_first), used inside the package.
ACCEPT_INVALID_CERTS = 16
AUTH_XOAUTH2 = 32
READ_ALL = 0
READ_UNREAD = 1
READ_HEADERS = 2
READ_MARK_SEEN = 4
