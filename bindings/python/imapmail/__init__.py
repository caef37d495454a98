"""imapmail for Python: read mail kept on an IMAP server, through the imapmail C library.

Pure ctypes, no compiler needed. The shared library (libimapmail.so / imapmail.dll /
libimapmail.dylib) is looked for, in order, at:

1. the path in the environment variable ``IMAPMAIL_LIBRARY``;
2. next to this package (``imapmail/libimapmail.so`` or ``imapmail/imapmail.dll``);
3. ``$CARGO_TARGET_DIR/release`` and ``target/release`` of the source tree this package sits in;
4. the system's library path (``ctypes.util.find_library("imapmail")``).

Example::

    import imapmail

    with imapmail.Session("imap.example.com", user="bob", password=secret) as session:
        for message in session.messages(unread=True):
            print(message.uid, message.sender, message.subject)
            for attachment in message.attachments:
                attachment.save("/tmp/attachments")

Every failure raises :class:`ImapMailError` (or a subclass such as :class:`AuthError`) whose
``status`` is the library's ``EMAIL_ERR_*`` code and whose ``message`` is its explanation.
"""

import builtins
import ctypes
import ctypes.util
import datetime
import os
import sys
import threading

__all__ = [
    "Session", "Message", "Attachment", "Recipient", "ImapMailError", "ArgumentError",
    "HandleError", "ConnectError", "TLSError", "AuthError", "ServerError", "ProtocolError",
    "TimeoutError", "DisconnectedError", "CancelledError", "NotFoundError", "TooLargeError",
    "LocalIOError", "InternalError", "version", "status_name", "library_path",
    "FLAG_SEEN", "FLAG_ANSWERED", "FLAG_FLAGGED", "FLAG_DELETED", "FLAG_DRAFT",
]

# Status codes (imapmail.h).
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

FLAG_SEEN = 1
FLAG_ANSWERED = 2
FLAG_FLAGGED = 4
FLAG_DELETED = 8
FLAG_DRAFT = 16

_SECURITY = {"tls": 0, "starttls": 1, "none": 2}
_ACCEPT_INVALID_CERTS = 0x10
_AUTH_XOAUTH2 = 0x20
_READ_UNREAD = 1
_READ_HEADERS = 2
_READ_MARK_SEEN = 4
_TO, _CC, _BCC, _REPLY_TO = 0, 1, 2, 3


# ---------------------------------------------------------------------------------------------
# Errors


class ImapMailError(Exception):
    """A failure reported by imapmail: ``status`` (an EMAIL_ERR_* code, negative), ``name``
    (e.g. "EMAIL_ERR_AUTH") and ``message`` (the library's explanation, never a password)."""

    def __init__(self, status, message):
        self.status = status
        self.name = status_name(status)
        self.message = message
        super().__init__(f"{message} ({self.name})" if message else self.name)


class ArgumentError(ImapMailError, ValueError):
    """EMAIL_ERR_ARGUMENT: an argument is missing, malformed or out of range."""


class HandleError(ImapMailError):
    """EMAIL_ERR_HANDLE: the session or message was already closed or freed."""


class ConnectError(ImapMailError, ConnectionError):
    """EMAIL_ERR_CONNECT: the TCP connection could not be made."""


class TLSError(ImapMailError):
    """EMAIL_ERR_TLS: untrusted or mismatched certificate, handshake failure, no STARTTLS."""


class AuthError(ImapMailError):
    """EMAIL_ERR_AUTH: the server refused the credentials."""


class ServerError(ImapMailError):
    """EMAIL_ERR_SERVER: the server answered NO or BAD."""


class ProtocolError(ImapMailError):
    """EMAIL_ERR_PROTOCOL: the server sent something unparseable or over a limit."""


class TimeoutError(ImapMailError, builtins.TimeoutError):  # noqa: A001 (shadows the builtin on purpose)
    """EMAIL_ERR_TIMEOUT: the server did not answer in time."""


class DisconnectedError(ImapMailError, ConnectionError):
    """EMAIL_ERR_DISCONNECTED: the connection is lost; open a new session."""


class CancelledError(ImapMailError):
    """EMAIL_ERR_CANCELLED: the operation was cancelled."""


class NotFoundError(ImapMailError, LookupError):
    """EMAIL_ERR_NOT_FOUND: the folder, message or item does not exist."""


class TooLargeError(ImapMailError):
    """EMAIL_ERR_TOO_LARGE: something is larger than a configured limit."""


class LocalIOError(ImapMailError, OSError):
    """EMAIL_ERR_IO: a local I/O failure (writing a file, reading ca_file)."""


class InternalError(ImapMailError):
    """EMAIL_ERR_INTERNAL: a bug inside imapmail, caught before it could crash the process."""


_ERRORS = {
    ERR_ARGUMENT: ArgumentError, ERR_HANDLE: HandleError, ERR_CONNECT: ConnectError,
    ERR_TLS: TLSError, ERR_AUTH: AuthError, ERR_SERVER: ServerError,
    ERR_PROTOCOL: ProtocolError, ERR_TIMEOUT: TimeoutError, ERR_DISCONNECTED: DisconnectedError,
    ERR_CANCELLED: CancelledError, ERR_NOT_FOUND: NotFoundError, ERR_TOO_LARGE: TooLargeError,
    ERR_IO: LocalIOError, ERR_INTERNAL: InternalError,
}


def _error(status, message):
    return _ERRORS.get(status, ImapMailError)(status, message)


# ---------------------------------------------------------------------------------------------
# Loading the library


def _candidates():
    env = os.environ.get("IMAPMAIL_LIBRARY")
    if env:
        yield env
        return
    if sys.platform == "win32":
        names = ["imapmail.dll"]
    elif sys.platform == "darwin":
        names = ["libimapmail.dylib"]
    else:
        names = ["libimapmail.so.0", "libimapmail.so"]
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = [here]
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        dirs.append(os.path.join(target, "release"))
    dirs.append(os.path.join(here, "..", "..", "..", "target", "release"))
    for d in dirs:
        for n in names:
            p = os.path.normpath(os.path.join(d, n))
            if os.path.exists(p):
                yield p
    found = ctypes.util.find_library("imapmail")
    if found:
        yield found


_lib = None
_lib_path = None
_lib_lock = threading.Lock()

_c_char_p = ctypes.c_char_p
_vp = ctypes.c_void_p
_sz = ctypes.c_size_t
_u8p = ctypes.POINTER(ctypes.c_uint8)

_PROTOTYPES = {
    "email_last_error": (ctypes.c_int32, []),
    "email_last_error_message": (_c_char_p, []),
    "email_version": (_c_char_p, []),
    "email_status_name": (_c_char_p, [ctypes.c_int32]),
    "email_start_session_ex": (_vp, [_c_char_p, ctypes.c_uint16, _c_char_p, _c_char_p, ctypes.c_uint32, _c_char_p]),
    "email_close_session": (ctypes.c_int32, [_vp]),
    "email_read_first": (ctypes.c_int32, [_vp, ctypes.c_uint32, ctypes.POINTER(_vp)]),
    "email_read_next": (ctypes.c_int32, [_vp, ctypes.POINTER(_vp)]),
    "email_get_all": (ctypes.c_int32, [_vp, ctypes.c_uint32, ctypes.POINTER(_vp)]),
    "email_list_count": (_sz, [_vp]),
    "email_list_get": (_vp, [_vp, _sz]),
    "email_list_free": (None, [_vp]),
    "email_message_free": (None, [_vp]),
    "email_message_uid": (ctypes.c_uint32, [_vp]),
    "email_message_flags": (ctypes.c_uint32, [_vp]),
    "email_message_is_read": (ctypes.c_int32, [_vp]),
    "email_message_size": (ctypes.c_uint64, [_vp]),
    "email_message_subject": (_c_char_p, [_vp]),
    "email_message_sender": (_c_char_p, [_vp]),
    "email_message_sender_address": (_c_char_p, [_vp]),
    "email_message_sender_name": (_c_char_p, [_vp]),
    "email_message_recipient_count": (_sz, [_vp, ctypes.c_int32]),
    "email_message_recipient_address": (_c_char_p, [_vp, ctypes.c_int32, _sz]),
    "email_message_recipient_name": (_c_char_p, [_vp, ctypes.c_int32, _sz]),
    "email_message_date": (_c_char_p, [_vp]),
    "email_message_timestamp": (ctypes.c_int64, [_vp]),
    "email_message_message_id": (_c_char_p, [_vp]),
    "email_message_header": (_c_char_p, [_vp, _c_char_p]),
    "email_message_text": (_c_char_p, [_vp]),
    "email_message_html": (_c_char_p, [_vp]),
    "email_message_source": (_u8p, [_vp, ctypes.POINTER(_sz)]),
    "email_message_error": (ctypes.c_int32, [_vp]),
    "email_message_error_message": (_c_char_p, [_vp]),
    "email_message_keyword_count": (_sz, [_vp]),
    "email_message_keyword": (_c_char_p, [_vp, _sz]),
    "email_message_attachment_count": (_sz, [_vp]),
    "email_attachment_name": (_c_char_p, [_vp, _sz]),
    "email_attachment_content_type": (_c_char_p, [_vp, _sz]),
    "email_attachment_content_id": (_c_char_p, [_vp, _sz]),
    "email_attachment_is_inline": (ctypes.c_int32, [_vp, _sz]),
    "email_attachment_data": (_u8p, [_vp, _sz, ctypes.POINTER(_sz)]),
    "email_attachment_save": (ctypes.c_int32, [_vp, _sz, _c_char_p]),
}


def _load():
    global _lib, _lib_path
    with _lib_lock:
        if _lib is not None:
            return _lib
        tried = []
        for path in _candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path}: {e}")
                continue
            for name, (res, args) in _PROTOTYPES.items():
                fn = getattr(lib, name)
                fn.restype = res
                fn.argtypes = args
            _lib, _lib_path = lib, path
            return lib
        raise OSError(
            "imapmail: cannot find the imapmail library; set IMAPMAIL_LIBRARY to its path"
            + ("" if not tried else " (tried: " + "; ".join(tried) + ")")
        )


def library_path():
    """The path of the loaded imapmail library."""
    _load()
    return _lib_path


def _text(p):
    return None if p is None else p.decode("utf-8", "replace")


def _last_error():
    lib = _load()
    return _error(lib.email_last_error(), _text(lib.email_last_error_message()) or "")


def version():
    """The library version, e.g. "0.1.0"."""
    return _text(_load().email_version())


def status_name(status):
    """The name of a status code, e.g. "EMAIL_ERR_TLS"."""
    return _text(_load().email_status_name(status))


def _option_value(value):
    return str(value).replace("\\", "\\\\").replace(";", "\\;").replace("=", "\\=")


# ---------------------------------------------------------------------------------------------
# Messages


class Recipient(tuple):
    """A recipient: ``name`` (may be "") and ``address``."""

    __slots__ = ()

    def __new__(cls, name, address):
        return super().__new__(cls, (name, address))

    name = property(lambda self: self[0])
    address = property(lambda self: self[1])

    def __str__(self):
        return f"{self.name} <{self.address}>" if self.name else self.address


class Attachment:
    """An attachment, inline part or attached message of a :class:`Message`."""

    def __init__(self, message, index):
        self._message = message
        self._index = index
        lib = _load()
        h = message._handle()
        self.name = _text(lib.email_attachment_name(h, index)) or ""
        self.content_type = _text(lib.email_attachment_content_type(h, index)) or ""
        self.content_id = _text(lib.email_attachment_content_id(h, index)) or ""
        self.is_inline = bool(lib.email_attachment_is_inline(h, index))

    @property
    def data(self):
        """The decoded bytes."""
        n = _sz(0)
        p = _load().email_attachment_data(self._message._handle(), self._index, ctypes.byref(n))
        return b"" if not p or n.value == 0 else ctypes.string_at(p, n.value)

    def save(self, directory):
        """Writes the attachment into ``directory`` under its name made safe, never
        overwriting a file; returns None. Raises NotFoundError when the directory is missing."""
        rc = _load().email_attachment_save(self._message._handle(), self._index, os.fsencode(directory))
        if rc != OK:
            raise _last_error()

    def __repr__(self):
        return f"<Attachment {self.name!r} {self.content_type} {len(self.data)} bytes>"


class Message:
    """One message, immutable. Read its properties; it stays valid after its session closes.
    Messages from :meth:`Session.messages` free their memory when garbage-collected (or at
    :meth:`close`); those of :meth:`Session.get_all` belong to their list."""

    def __init__(self, handle, owner=None):
        self._h = handle
        self._owner = owner  # keeps a list alive for borrowed messages
        self._owned = owner is None

    def _handle(self):
        if not self._h:
            raise HandleError(ERR_HANDLE, "the message was closed")
        return self._h

    def close(self):
        """Frees the message now (optional)."""
        if self._h and self._owned:
            _load().email_message_free(self._h)
        self._h = None
        self._owner = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def _str(self, fn, *args):
        return _text(getattr(_load(), fn)(self._handle(), *args)) or ""

    uid = property(lambda self: _load().email_message_uid(self._handle()), doc="UID in its folder.")
    flags = property(lambda self: _load().email_message_flags(self._handle()), doc="FLAG_* bits.")
    is_read = property(lambda self: bool(_load().email_message_is_read(self._handle())))
    size = property(lambda self: _load().email_message_size(self._handle()), doc="Bytes on the server.")
    subject = property(lambda self: self._str("email_message_subject"))
    sender = property(lambda self: self._str("email_message_sender"), doc='"Name <address>".')
    sender_address = property(lambda self: self._str("email_message_sender_address"))
    sender_name = property(lambda self: self._str("email_message_sender_name"))
    date = property(lambda self: self._str("email_message_date"), doc="The Date header as written.")
    message_id = property(lambda self: self._str("email_message_message_id"))
    text = property(lambda self: self._str("email_message_text"), doc="Plain-text body.")
    html = property(lambda self: self._str("email_message_html"), doc="HTML body.")

    @property
    def timestamp(self):
        """The Date header as an aware UTC datetime, or None."""
        t = _load().email_message_timestamp(self._handle())
        return None if t == 0 else datetime.datetime.fromtimestamp(t, datetime.timezone.utc)

    def _recipients(self, kind):
        lib = _load()
        h = self._handle()
        return [
            Recipient(_text(lib.email_message_recipient_name(h, kind, i)) or "",
                      _text(lib.email_message_recipient_address(h, kind, i)) or "")
            for i in range(lib.email_message_recipient_count(h, kind))
        ]

    to = property(lambda self: self._recipients(_TO))
    cc = property(lambda self: self._recipients(_CC))
    bcc = property(lambda self: self._recipients(_BCC))
    reply_to = property(lambda self: self._recipients(_REPLY_TO))

    def header(self, name):
        """The first header called ``name`` (decoded), or None."""
        return _text(_load().email_message_header(self._handle(), name.encode("utf-8")))

    @property
    def source(self):
        """The raw RFC 5322 bytes as received."""
        n = _sz(0)
        p = _load().email_message_source(self._handle(), ctypes.byref(n))
        return b"" if not p or n.value == 0 else ctypes.string_at(p, n.value)

    @property
    def keywords(self):
        lib = _load()
        h = self._handle()
        return [_text(lib.email_message_keyword(h, i)) for i in range(lib.email_message_keyword_count(h))]

    @property
    def attachments(self):
        n = _load().email_message_attachment_count(self._handle())
        return [Attachment(self, i) for i in range(n)]

    @property
    def decode_error(self):
        """None, or an ImapMailError when the MIME structure could not be fully decoded."""
        lib = _load()
        rc = lib.email_message_error(self._handle())
        return None if rc == OK else _error(rc, self._str("email_message_error_message"))

    def __repr__(self):
        return f"<Message uid={self.uid} from={self.sender_address!r} subject={self.subject!r}>"


class _List:
    def __init__(self, handle):
        self.h = handle

    def __del__(self):
        try:
            if self.h:
                _load().email_list_free(self.h)
                self.h = None
        except Exception:
            pass


# ---------------------------------------------------------------------------------------------
# Sessions


class Session:
    """An IMAP session: connects, secures, logs in and selects a folder (INBOX by default).

    ``security``: "tls" (implicit TLS, port 993), "starttls" (port 143, required) or "none".
    ``port`` 0 means the standard port. ``ca_file``: a PEM file of extra trusted certificates.
    ``accept_invalid_certs``: skip certificate checks (testing only). ``xoauth2``: ``password``
    is an OAuth2 access token. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, host, port=0, user=None, password=None, security="tls", *, folder=None,
                 ca_file=None, timeout_ms=None, max_message_bytes=None,
                 accept_invalid_certs=False, xoauth2=False):
        if security not in _SECURITY:
            raise ArgumentError(ERR_ARGUMENT, f"security must be one of {sorted(_SECURITY)}")
        if user is None or password is None:
            raise ArgumentError(ERR_ARGUMENT, "user and password are required")
        flags = _SECURITY[security]
        if accept_invalid_certs:
            flags |= _ACCEPT_INVALID_CERTS
        if xoauth2:
            flags |= _AUTH_XOAUTH2
        options = []
        for key, value in (("folder", folder), ("ca_file", ca_file), ("timeout_ms", timeout_ms),
                           ("max_message_bytes", max_message_bytes)):
            if value is not None:
                value = os.fspath(value) if key == "ca_file" else value
                options.append(f"{key}={_option_value(value)}")
        lib = _load()
        self._lock = threading.Lock()
        self._h = lib.email_start_session_ex(
            host.encode("utf-8"), port, user.encode("utf-8"), password.encode("utf-8"), flags,
            ";".join(options).encode("utf-8"))
        if not self._h:
            raise _last_error()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self):
        return not getattr(self, "_h", None)

    def close(self):
        """Logs out and frees the session (messages already read stay valid). Idempotent."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            _load().email_close_session(h)

    def _handle(self):
        if not self._h:
            raise HandleError(ERR_HANDLE, "the session is closed")
        return self._h

    @staticmethod
    def _flags(unread, headers_only, mark_seen):
        return ((_READ_UNREAD if unread else 0) | (_READ_HEADERS if headers_only else 0)
                | (_READ_MARK_SEEN if mark_seen else 0))

    def messages(self, unread=False, headers_only=False, mark_seen=False):
        """Iterates over the messages of the selected folder in UID order (email_read_first /
        email_read_next): ``unread`` only those without \\Seen; ``headers_only`` no bodies;
        ``mark_seen`` sets \\Seen on the server as each one is read."""
        lib = _load()
        out = _vp()
        rc = lib.email_read_first(self._handle(), self._flags(unread, headers_only, mark_seen), ctypes.byref(out))
        while rc == OK:
            yield Message(out.value)
            out = _vp()
            rc = lib.email_read_next(self._handle(), ctypes.byref(out))
        if rc != OUT:
            raise _last_error()

    __iter__ = messages

    def get_all(self, unread=False, headers_only=False, mark_seen=False):
        """All messages of the selected folder at once, as a list of :class:`Message`."""
        lib = _load()
        out = _vp()
        rc = lib.email_get_all(self._handle(), self._flags(unread, headers_only, mark_seen), ctypes.byref(out))
        if rc != OK:
            raise _last_error()
        owner = _List(out.value)
        return [Message(lib.email_list_get(owner.h, i), owner) for i in range(lib.email_list_count(owner.h))]
