"""Exceptions: one class per ``EMAIL_ERR_*`` status, all under :class:`ImapMailError`.

Where a builtin exception has the same meaning, the class also derives from it (so
``except TimeoutError`` catches :class:`ImapTimeoutError`), but no name here is the name of a
builtin.
"""

from __future__ import annotations

from typing import Dict, Tuple, Type

from . import _native
from .constants import Status


class ImapMailError(Exception):
    """A failure reported by imapmail.

    ``status``: the ``EMAIL_ERR_*`` code (a negative int); ``name``: its name, e.g.
    ``"EMAIL_ERR_AUTH"``; ``message``: the library's explanation (never a password or token).
    """

    status: int
    name: str
    message: str

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        try:
            self.name = "EMAIL_" + Status(status).name
        except ValueError:
            self.name = "EMAIL_ERR_UNKNOWN"
        self.message = message
        super().__init__(f"{message} ({self.name})" if message else self.name)


class ArgumentError(ImapMailError, ValueError):
    """EMAIL_ERR_ARGUMENT: an argument is missing, malformed, out of range, or holds CR/LF/NUL."""


class HandleError(ImapMailError):
    """EMAIL_ERR_HANDLE: the session, message or list was already closed or freed."""


class ConnectError(ImapMailError, ConnectionError):
    """EMAIL_ERR_CONNECT: the TCP connection could not be made."""


class TLSError(ImapMailError):
    """EMAIL_ERR_TLS: untrusted or mismatched certificate, handshake failure, no STARTTLS."""


class AuthError(ImapMailError):
    """EMAIL_ERR_AUTH: the server refused the credentials, or no permitted login method exists."""


class ServerError(ImapMailError):
    """EMAIL_ERR_SERVER: the server answered NO or BAD."""


class ProtocolError(ImapMailError):
    """EMAIL_ERR_PROTOCOL: the server sent something unparseable or over a limit."""


class ImapTimeoutError(ImapMailError, TimeoutError):
    """EMAIL_ERR_TIMEOUT: the server did not answer within ``timeout_ms``."""


class DisconnectedError(ImapMailError, ConnectionError):
    """EMAIL_ERR_DISCONNECTED: the connection is lost; close the session and open a new one."""


class CancelledError(ImapMailError):
    """EMAIL_ERR_CANCELLED: the progress callback cancelled the operation."""


class NotFoundError(ImapMailError, LookupError):
    """EMAIL_ERR_NOT_FOUND: the folder, message or item does not exist."""


class TooLargeError(ImapMailError):
    """EMAIL_ERR_TOO_LARGE: something is larger than a configured limit."""


class LocalIOError(ImapMailError, OSError):
    """EMAIL_ERR_IO: a local I/O failure (writing a file, reading ``ca_file``)."""


class InternalError(ImapMailError):
    """EMAIL_ERR_INTERNAL: a bug inside imapmail, caught before it could harm the process."""


ERRORS: Dict[int, Type[ImapMailError]] = {
    Status.ERR_ARGUMENT: ArgumentError,
    Status.ERR_HANDLE: HandleError,
    Status.ERR_CONNECT: ConnectError,
    Status.ERR_TLS: TLSError,
    Status.ERR_AUTH: AuthError,
    Status.ERR_SERVER: ServerError,
    Status.ERR_PROTOCOL: ProtocolError,
    Status.ERR_TIMEOUT: ImapTimeoutError,
    Status.ERR_DISCONNECTED: DisconnectedError,
    Status.ERR_CANCELLED: CancelledError,
    Status.ERR_NOT_FOUND: NotFoundError,
    Status.ERR_TOO_LARGE: TooLargeError,
    Status.ERR_IO: LocalIOError,
    Status.ERR_INTERNAL: InternalError,
}


def error_for(status: int, message: str = "") -> ImapMailError:
    """The exception for a status (an :class:`ImapMailError` subclass)."""
    return ERRORS.get(status, ImapMailError)(status, message)


def last_error() -> ImapMailError:
    """This thread's last failure (``email_last_error`` / ``email_last_error_message``) as an
    exception."""
    lib = _native.lib()
    code = int(lib.email_last_error())
    return error_for(code, _native.text(lib.email_last_error_message()) or "")


def check(rc: int, ok: Tuple[int, ...] = (Status.OK,)) -> int:
    """Reads a status result; raises the matching exception for an error. Returns the status."""
    rc = int(rc)
    if rc in ok:
        return rc
    if rc < 0:
        raise last_error_for(rc)
    raise ImapMailError(rc, f"unexpected status {rc}")


def last_error_for(rc: int) -> ImapMailError:
    """The exception of a failed call that returned ``rc``; the message is this thread's."""
    lib = _native.lib()
    message = _native.text(lib.email_last_error_message()) or ""
    return error_for(rc, message)


def handle_error(what: str) -> HandleError:
    return HandleError(Status.ERR_HANDLE, f"the {what} is closed")

