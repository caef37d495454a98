"""Sessions: connecting, reading, folders, flags, search, moving, appending, IDLE, callbacks."""

from __future__ import annotations

import ctypes
import datetime
import os
import threading
from typing import Any, Callable, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _native
from .constants import (ACCEPT_INVALID_CERTS, AUTH_XOAUTH2, READ_HEADERS, READ_MARK_SEEN, READ_UNREAD, Flag,
                        Security, Status, TraceDirection)
from .errors import ArgumentError, check, handle_error, last_error, last_error_for
from .folders import Folder, FolderStatus, IdleResult, folders_from
from .message import Message, MessageList
from .search import Search, Uids, _unix_time

Target = Union[Message, int]
ProgressCallback = Callable[[int, int], Any]
TraceCallback = Callable[[TraceDirection, bytes], Any]
OptionValue = Union[str, int, bool, "os.PathLike[str]"]


class Progress(NamedTuple):
    """How far the session's current or last read is: ``done`` messages of ``total``."""

    done: int
    total: int


# Enough for any queued trace line (imapmail.h: 16400 bytes always suffice).
_TRACE_LINE_BYTES = 16400


def _option_value(value: OptionValue) -> str:
    if isinstance(value, bool):
        value = 1 if value else 0
    elif isinstance(value, os.PathLike):
        value = os.fspath(value)
    return str(value).replace("\\", "\\\\").replace(";", "\\;").replace("=", "\\=")


def _read_flags(unread: bool, headers_only: bool, mark_seen: bool) -> int:
    return (READ_UNREAD if unread else 0) | (READ_HEADERS if headers_only else 0) | (READ_MARK_SEEN if mark_seen else 0)


class Session:
    """An IMAP session: connects, secures the connection, logs in and selects a folder (INBOX
    unless ``folder`` is given). Use it as a context manager, or call :meth:`close`.

    ``security``: ``"tls"`` (implicit TLS, port 993; default), ``"starttls"`` (port 143,
    required) or ``"none"`` (a :class:`Security` value works too). ``port`` 0: the standard
    port. ``accept_invalid_certs``: skip certificate checks (testing only). ``xoauth2``:
    ``password`` is an OAuth2 access token.

    Options (``email_start_session_ex``): ``timeout_ms`` (bound of every network step, default
    60000), ``ca_file`` (a PEM file of extra trusted certificates), ``folder``,
    ``max_message_bytes``, ``trace_file`` (the protocol trace, credentials masked, is appended
    to it), ``trace_queue`` (the same trace kept in memory, up to N lines, for
    :meth:`trace_next`), ``pipelining`` (default True), ``reconnect`` (a read that loses its connection
    reconnects and goes on; default False). ``options`` takes further ``key: value`` pairs, for
    keys newer than this package.

    A session may be used from several threads: calls on it are serialized by the library.
    Every failure raises an :class:`ImapMailError` subclass.
    """

    def __init__(self, host: str, port: int = 0, user: Optional[str] = None, password: Optional[str] = None,
                 security: Union[str, Security] = "tls", *, folder: Optional[str] = None,
                 ca_file: Optional[Union[str, "os.PathLike[str]"]] = None, timeout_ms: Optional[int] = None,
                 max_message_bytes: Optional[int] = None,
                 trace_file: Optional[Union[str, "os.PathLike[str]"]] = None, trace_queue: Optional[int] = None,
                 pipelining: Optional[bool] = None,
                 reconnect: Optional[bool] = None, accept_invalid_certs: bool = False, xoauth2: bool = False,
                 options: Optional[Mapping[str, OptionValue]] = None) -> None:
        self._h: Optional[int] = None
        # Every ctypes callback given to the library stays referenced as long as the session
        # object lives: a library thread may still be inside one when it is replaced.
        self._callbacks: List[Any] = []
        self._pending = threading.local()  # an exception raised by the progress callback
        if isinstance(security, str):
            try:
                security = Security[security.upper()]
            except KeyError:
                raise ArgumentError(Status.ERR_ARGUMENT, "security must be 'tls', 'starttls' or 'none'") from None
        if user is None or password is None:
            raise ArgumentError(Status.ERR_ARGUMENT, "user and password are required")
        flags = int(Security(security))
        if accept_invalid_certs:
            flags |= ACCEPT_INVALID_CERTS
        if xoauth2:
            flags |= AUTH_XOAUTH2
        pairs = {"timeout_ms": timeout_ms, "ca_file": ca_file, "folder": folder,
                 "max_message_bytes": max_message_bytes, "trace_file": trace_file, "trace_queue": trace_queue,
                 "pipelining": pipelining, "reconnect": reconnect}
        for key in options or {}:
            if not key.isidentifier():
                raise ArgumentError(Status.ERR_ARGUMENT, f"invalid option name {key!r}")
        pairs.update(options or {})
        opts = ";".join(f"{k}={_option_value(v)}" for k, v in pairs.items() if v is not None)
        lib = _native.lib()
        args = (_native.encode(host, "host"), port, _native.encode(user, "user"), _native.encode(password, "password"), flags)
        h = lib.email_start_session_ex(*args, opts.encode("utf-8")) if opts else lib.email_start_session(*args)
        if not h:
            raise last_error()
        self._h = h
        self._host, self._user = host, user
        self._port = port or (993 if security == Security.TLS else 143)

    # -- lifetime ------------------------------------------------------------------------------

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return not getattr(self, "_h", None)

    def close(self) -> None:
        """Logs out and frees the session; messages and lists already read stay valid.
        Idempotent."""
        h, self._h = getattr(self, "_h", None), None
        if h:
            _native.lib().email_close_session(h)

    def _handle(self) -> int:
        if not self._h:
            raise handle_error("session")
        return self._h

    def _check(self, rc: int, ok: Tuple[int, ...] = (Status.OK,)) -> int:
        """Like errors.check, but an exception the progress callback raised comes first."""
        rc = int(rc)
        pending = getattr(self._pending, "error", None)
        if pending is not None:
            self._pending.error = None
            if rc == Status.ERR_CANCELLED:
                raise pending from last_error_for(rc)
        return check(rc, ok)

    def __repr__(self) -> str:
        # No library call: the session may be busy in another thread (IDLE, a long read).
        where = f"{self._user}@{self._host}:{self._port}" if hasattr(self, "_host") else "?"
        return f"<Session {where}{' (closed)' if self.closed else ''}>"

    # -- errors --------------------------------------------------------------------------------

    @property
    def last_status(self) -> Status:
        """The status of the last call made on this session, whichever thread made it
        (``email_session_error``)."""
        rc = int(_native.lib().email_session_error(self._handle()))
        try:
            return Status(rc)
        except ValueError:
            return rc  # type: ignore[return-value]

    @property
    def last_error_message(self) -> str:
        """The description of the last failure on this session (``""`` after a success)."""
        return _native.text(_native.lib().email_session_error_message(self._handle())) or ""

    # -- reading -------------------------------------------------------------------------------

    def _new_message(self, rc: int, out: ctypes.c_void_p) -> Optional[Message]:
        if self._check(rc, (Status.OK, Status.OUT)) == Status.OUT or not out.value:
            return None
        return Message(out.value)

    def read_first(self, unread: bool = False, headers_only: bool = False, mark_seen: bool = False) -> Optional[Message]:
        """Starts reading the selected folder in UID order and returns its first message (None
        when there is none). ``unread``: only messages without \\Seen; ``headers_only``:
        headers, flags and size only (see :meth:`load_body`); ``mark_seen``: set \\Seen on the
        server as each message is read (otherwise reading changes nothing)."""
        out = ctypes.c_void_p()
        rc = _native.lib().email_read_first(self._handle(), _read_flags(unread, headers_only, mark_seen), ctypes.byref(out))
        return self._new_message(rc, out)

    def read_next(self) -> Optional[Message]:
        """The next message of the iteration begun by :meth:`read_first` or
        :meth:`read_first_search`; None when it is over."""
        out = ctypes.c_void_p()
        rc = _native.lib().email_read_next(self._handle(), ctypes.byref(out))
        return self._new_message(rc, out)

    def read_first_search(self, query: Search, unread: bool = False, headers_only: bool = False,
                          mark_seen: bool = False) -> Optional[Message]:
        """As :meth:`read_first`, over the messages that match ``query`` only."""
        out = ctypes.c_void_p()
        rc = _native.lib().email_read_first_search(
            self._handle(), query._handle(), _read_flags(unread, headers_only, mark_seen), ctypes.byref(out))
        return self._new_message(rc, out)

    def messages(self, unread: bool = False, headers_only: bool = False, mark_seen: bool = False,
                 query: Optional[Search] = None) -> Iterator[Message]:
        """Iterates over the messages of the selected folder in UID order (those matching
        ``query`` when given), with the flags of :meth:`read_first`. Messages are fetched ahead
        in batches, so memory stays bounded whatever the folder's size."""
        if query is None:
            m = self.read_first(unread, headers_only, mark_seen)
        else:
            m = self.read_first_search(query, unread, headers_only, mark_seen)
        while m is not None:
            yield m
            m = self.read_next()

    def __iter__(self) -> Iterator[Message]:
        return self.messages()

    def get_all(self, unread: bool = False, headers_only: bool = False, mark_seen: bool = False) -> MessageList:
        """Every message of the selected folder at once (flags as for :meth:`read_first`). A
        running read iteration is not disturbed."""
        out = ctypes.c_void_p()
        rc = _native.lib().email_get_all(self._handle(), _read_flags(unread, headers_only, mark_seen), ctypes.byref(out))
        self._check(rc)
        return MessageList(out.value or 0)

    def load_body(self, message: Message) -> None:
        """Fetches the body and attachments of a message read with ``headers_only=True`` (the
        message's folder must still be selected); afterwards its text, HTML, attachments and
        source are complete. Does nothing when they already are; never sets \\Seen."""
        self._check(_native.lib().email_message_load_body(self._handle(), message._handle()))

    def count(self, unread: bool = False) -> int:
        """The number of messages in the selected folder (``unread``: of unread ones)."""
        n = int(_native.lib().email_count(self._handle(), READ_UNREAD if unread else 0))
        if n < 0:
            raise last_error_for(n)
        return n

    # -- search --------------------------------------------------------------------------------

    def search(self, query: Optional[Search] = None) -> Uids:
        """The UIDs of the messages of the selected folder that match ``query`` (every message
        when None), ascending."""
        own = query is None
        q = Search() if query is None else query
        try:
            out = ctypes.c_void_p()
            self._check(_native.lib().email_search(self._handle(), q._handle(), ctypes.byref(out)))
            return Uids(out.value or 0)
        finally:
            if own:
                q.close()

    # -- folders -------------------------------------------------------------------------------

    def folders(self) -> List[Folder]:
        """Every folder of the account, INBOX first, then by name."""
        out = ctypes.c_void_p()
        self._check(_native.lib().email_list_folders(self._handle(), ctypes.byref(out)))
        return folders_from(out.value or 0)

    def subscribed_folders(self) -> List[Folder]:
        """The subscribed folders (LSUB; some servers give fewer attributes here)."""
        out = ctypes.c_void_p()
        self._check(_native.lib().email_list_subscribed(self._handle(), ctypes.byref(out)))
        return folders_from(out.value or 0)

    def select_folder(self, name: Union[str, Folder], read_only: bool = False) -> None:
        """Selects a folder: later reads, searches, flag changes, moves and counts apply to it.
        ``read_only``: nothing can change, not even \\Seen. Ends any read iteration."""
        self._check(_native.lib().email_select_folder(self._handle(), _native.encode(str(name), "name"), 1 if read_only else 0))

    @property
    def current_folder(self) -> str:
        """The name of the selected folder."""
        p = _native.lib().email_current_folder(self._handle())
        if p is None:
            raise last_error()
        return _native.text(p) or ""

    def create_folder(self, name: str) -> None:
        """Creates a folder (use the folder's delimiter for a folder below another)."""
        self._check(_native.lib().email_create_folder(self._handle(), _native.encode(name, "name")))

    def delete_folder(self, name: str) -> None:
        """Deletes a folder and its messages (INBOX is selected first when it is the selected
        one)."""
        self._check(_native.lib().email_delete_folder(self._handle(), _native.encode(name, "name")))

    def rename_folder(self, old: str, new: str) -> None:
        """Renames a folder (with the folders below it)."""
        self._check(_native.lib().email_rename_folder(self._handle(), _native.encode(old, "old"), _native.encode(new, "new")))

    def subscribe(self, name: str) -> None:
        """Subscribes to a folder."""
        self._check(_native.lib().email_subscribe_folder(self._handle(), _native.encode(name, "name")))

    def unsubscribe(self, name: str) -> None:
        """Unsubscribes from a folder (the folder stays)."""
        self._check(_native.lib().email_unsubscribe_folder(self._handle(), _native.encode(name, "name")))

    def folder_status(self, name: str) -> FolderStatus:
        """The counters of a folder, without selecting it (STATUS)."""
        v = [ctypes.c_uint32() for _ in range(4)]
        self._check(_native.lib().email_folder_status(self._handle(), _native.encode(name, "name"),
                                                      *(ctypes.byref(x) for x in v)))
        return FolderStatus(*(x.value for x in v))

    # -- flags, keywords, deleting, moving -----------------------------------------------------

    def mark_read(self, target: Target, read: bool = True) -> None:
        """Marks a message (a :class:`Message` read from the selected folder, or a UID) read or
        unread on the server. A Message object keeps the flags it was read with."""
        lib = _native.lib()
        if isinstance(target, Message):
            rc = lib.email_message_mark_read(self._handle(), target._handle(), 1 if read else 0)
        else:
            rc = lib.email_mark_read(self._handle(), target, 1 if read else 0)
        self._check(rc)

    def set_flags(self, target: Target, flags: Union[Flag, int], add: bool = True) -> None:
        """Adds (``add=False``: removes) system flags on a message; others stay as they are."""
        lib = _native.lib()
        if isinstance(target, Message):
            rc = lib.email_message_set_flags(self._handle(), target._handle(), int(flags), 1 if add else 0)
        else:
            rc = lib.email_set_flags(self._handle(), target, int(flags), 1 if add else 0)
        self._check(rc)

    def add_flags(self, target: Target, flags: Union[Flag, int]) -> None:
        self.set_flags(target, flags, True)

    def remove_flags(self, target: Target, flags: Union[Flag, int]) -> None:
        self.set_flags(target, flags, False)

    def add_keyword(self, target: Target, keyword: str) -> None:
        """Sets a keyword (an IMAP atom such as ``$Forwarded`` or ``Work``) on a message."""
        uid = target.uid if isinstance(target, Message) else target
        self._check(_native.lib().email_add_keyword(self._handle(), uid, _native.encode(keyword, "keyword")))

    def remove_keyword(self, target: Target, keyword: str) -> None:
        """Removes a keyword from a message."""
        uid = target.uid if isinstance(target, Message) else target
        self._check(_native.lib().email_remove_keyword(self._handle(), uid, _native.encode(keyword, "keyword")))

    def delete(self, target: Target) -> None:
        """Marks a message deleted (\\Deleted); it is removed by :meth:`expunge`."""
        lib = _native.lib()
        if isinstance(target, Message):
            rc = lib.email_message_delete(self._handle(), target._handle())
        else:
            rc = lib.email_delete_message(self._handle(), target)
        self._check(rc)

    def expunge(self) -> None:
        """Removes for good the messages this session marked deleted in the selected folder
        (never those marked by other programs)."""
        self._check(_native.lib().email_expunge(self._handle()))

    def _transfer(self, by_message: str, by_uid: str, target: Target, folder: str) -> Optional[int]:
        lib = _native.lib()
        new_uid = ctypes.c_uint32(0)
        f = _native.encode(str(folder), "folder")
        if isinstance(target, Message):
            rc = getattr(lib, by_message)(self._handle(), target._handle(), f, ctypes.byref(new_uid))
        else:
            rc = getattr(lib, by_uid)(self._handle(), target, f, ctypes.byref(new_uid))
        self._check(rc)
        return new_uid.value or None

    def move(self, target: Target, folder: Union[str, Folder]) -> Optional[int]:
        """Moves a message into ``folder``; returns its UID there (None when the server does not
        tell)."""
        return self._transfer("email_message_move", "email_move_message", target, str(folder))

    def copy(self, target: Target, folder: Union[str, Folder]) -> Optional[int]:
        """Copies a message into ``folder``; returns the copy's UID (None when the server does
        not tell)."""
        return self._transfer("email_message_copy", "email_copy_message", target, str(folder))

    def append(self, folder: Union[str, Folder], message: Union[bytes, str], flags: Union[Flag, int] = 0,
               internal_date: Optional[Union[int, datetime.datetime]] = None) -> Optional[int]:
        """Stores a message (its RFC 5322 source) in ``folder`` with ``flags`` and an internal
        date (None: now). Returns its UID (None when the server does not tell)."""
        raw = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        buf = (ctypes.c_uint8 * max(len(raw), 1)).from_buffer_copy(raw or b"\0")
        when = 0 if internal_date is None else _unix_time(internal_date)
        new_uid = ctypes.c_uint32(0)
        self._check(_native.lib().email_append(self._handle(), _native.encode(str(folder), "folder"), buf, len(raw),
                                               int(flags), when, ctypes.byref(new_uid)))
        return new_uid.value or None

    # -- waiting -------------------------------------------------------------------------------

    def idle(self, timeout: float) -> IdleResult:
        """Waits up to ``timeout`` seconds (0: check once) for messages to be added to or removed
        from the selected folder (IDLE, or NOOP polling). Messages that arrived since the
        session last heard from the server count as new."""
        ms = int(round(timeout * 1000))
        if not 0 <= ms <= 0xFFFFFFFF:
            raise ArgumentError(Status.ERR_ARGUMENT, "timeout out of range")
        exists = ctypes.c_uint32(0)
        rc = self._check(_native.lib().email_idle(self._handle(), ms, ctypes.byref(exists)), (Status.OK, Status.OUT))
        return IdleResult(rc == Status.OK, exists.value)

    # -- callbacks -----------------------------------------------------------------------------

    def set_progress(self, callback: Optional[ProgressCallback]) -> None:
        """Calls ``callback(done, total)`` during :meth:`get_all` and reading (once per message
        handed out), on the thread that called the reading method, never on a library thread.
        To cancel, raise an exception from it: the reading method stops and raises that
        exception. None removes the callback. The callback must not use this session (reading
        :attr:`progress` is allowed)."""
        if callback is None:
            fn = _native.PROGRESS_CALLBACK()
        else:
            pending = self._pending

            def on_progress(done: int, total: int, _user: Optional[int]) -> int:
                try:
                    callback(done, total)
                except BaseException as e:  # noqa: B902 (handed back to the calling thread)
                    pending.error = e
                    return 1
                return 0

            fn = _native.PROGRESS_CALLBACK(on_progress)
        self._callbacks.append(fn)
        self._check(_native.lib().email_set_progress_callback(self._handle(), fn, None))

    @property
    def progress(self) -> Progress:
        """The progress of the session's current or last read (:meth:`get_all`, the read
        iteration): (0, 0) before the first message of a read, then the latest report. Never
        waits: another thread can poll it while one reads (or idles) on this session."""
        done, total = ctypes.c_uint64(0), ctypes.c_uint64(0)
        check(_native.lib().email_session_progress(self._handle(), ctypes.byref(done), ctypes.byref(total)))
        return Progress(done.value, total.value)

    def trace_next(self) -> Optional[str]:
        """The oldest line of the trace queued by the ``trace_queue`` option (``"C: ..."`` sent,
        ``"S: ..."`` received, credentials masked), removed from the queue; None when it is
        empty. A line saying how many were dropped comes first when the queue overflowed.
        Never waits: any thread can take lines while another uses the session, and no code
        runs on a library thread (unlike :meth:`set_trace`). Raises :class:`ArgumentError` for
        a session started without ``trace_queue``."""
        buf = ctypes.create_string_buffer(_TRACE_LINE_BYTES)
        rc = check(_native.lib().email_session_trace_next(self._handle(), buf, _TRACE_LINE_BYTES), (Status.OK, Status.OUT))
        return None if rc == Status.OUT else buf.value.decode("utf-8", "replace")

    def trace_lines(self) -> List[str]:
        """Every line queued so far (see :meth:`trace_next`), oldest first."""
        lines = []
        line = self.trace_next()
        while line is not None:
            lines.append(line)
            line = self.trace_next()
        return lines

    def set_trace(self, callback: Optional[TraceCallback]) -> None:
        """Calls ``callback(direction, line)`` for every protocol line from now on (``line``:
        bytes without CRLF; credentials are replaced by ``<redacted>``, message bodies by
        ``[literal: N bytes]``). It may run on a library thread (reading ahead), never on two
        at once for one session; it must not use this session. Exceptions it raises are
        reported by Python as unraisable and ignored. None removes it. The login itself is
        traced only by the ``trace_file`` option."""
        if callback is None:
            fn = _native.TRACE_CALLBACK()
        else:
            def on_line(direction: int, line: Any, length: int, _user: Optional[int]) -> None:
                callback(TraceDirection(direction), ctypes.string_at(line, length) if length else b"")

            fn = _native.TRACE_CALLBACK(on_line)
        self._callbacks.append(fn)
        self._check(_native.lib().email_set_trace_callback(self._handle(), fn, None))

