"""Messages, their attachments and recipients, and the lists :meth:`Session.get_all` returns."""

from __future__ import annotations

import ctypes
import datetime
import os
from typing import TYPE_CHECKING, Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union, overload

from . import _native
from .constants import Flag, RecipientKind, Status
from .errors import ImapMailError, check, error_for, handle_error

if TYPE_CHECKING:
    from .session import Session

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


class Recipient(NamedTuple):
    """A recipient: ``name`` (``""`` when none) and ``address``."""

    name: str
    address: str

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


class Attachment:
    """An attachment, inline part or attached message of a :class:`Message`.

    Its bytes stay in the message until asked for: :attr:`size` costs nothing, :attr:`data`
    copies them.
    """

    __slots__ = ("_message", "index")

    def __init__(self, message: "Message", index: int) -> None:
        self._message = message
        self.index = index

    def _str(self, fn: str) -> str:
        return _native.text(getattr(_native.lib(), fn)(self._message._handle(), self.index)) or ""

    @property
    def name(self) -> str:
        """The file name as the message gives it (``""`` when none). It may contain anything:
        never use it as a path; :meth:`save` makes it safe."""
        return self._str("email_attachment_name")

    @property
    def content_type(self) -> str:
        """The MIME type in lower case, e.g. ``"application/pdf"``."""
        return self._str("email_attachment_content_type")

    @property
    def content_id(self) -> str:
        """The Content-ID without angle brackets (``""`` when none), as ``cid:`` URLs use it."""
        return self._str("email_attachment_content_id")

    @property
    def is_inline(self) -> bool:
        """True when the part is shown inside the body."""
        return bool(_native.lib().email_attachment_is_inline(self._message._handle(), self.index))

    def _data(self) -> Tuple[Any, int]:
        n = ctypes.c_size_t(0)
        p = _native.lib().email_attachment_data(self._message._handle(), self.index, ctypes.byref(n))
        return p, n.value

    @property
    def size(self) -> int:
        """The number of decoded bytes (nothing is copied)."""
        return self._data()[1]

    @property
    def data(self) -> bytes:
        """A copy of the decoded bytes."""
        p, n = self._data()
        return ctypes.string_at(p, n) if p and n else b""

    def save(self, directory: PathLike) -> None:
        """Writes the attachment into the existing ``directory`` under its name made safe; never
        overwrites a file (adds " (1)", " (2)", ...). Raises :class:`NotFoundError` when the
        directory does not exist, :class:`LocalIOError` when writing fails."""
        check(_native.lib().email_attachment_save(
            self._message._handle(), self.index, _native.encode(directory, "directory")))

    def __repr__(self) -> str:
        return f"<Attachment {self.name!r} {self.content_type} {self.size} bytes>"


class Message:
    """One message, immutable. It stays valid after its session is closed.

    A message from :meth:`Session.messages` (or ``read_first`` / ``read_next``) is freed when
    garbage-collected or at :meth:`close`; one from :meth:`Session.get_all` belongs to its
    :class:`MessageList`. Use it as a context manager to free it at once.
    """

    __slots__ = ("_h", "_list", "__weakref__")

    def __init__(self, handle: int, owner: Optional["MessageList"] = None) -> None:
        self._h: Optional[int] = handle
        self._list = owner  # the list a borrowed message belongs to

    def _handle(self) -> int:
        if not self._h or (self._list is not None and self._list.closed):
            raise handle_error("message")
        return self._h

    @property
    def closed(self) -> bool:
        return not self._h or (self._list is not None and self._list.closed)

    def close(self) -> None:
        """Frees the message now (a message of a list is only detached from it). Idempotent."""
        h, self._h = self._h, None
        if h and self._list is None:
            _native.lib().email_message_free(h)
        self._list = None

    def __enter__(self) -> "Message":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def _str(self, fn: str, *args: object) -> str:
        return _native.text(getattr(_native.lib(), fn)(self._handle(), *args)) or ""

    @property
    def uid(self) -> int:
        """The UID in its folder."""
        return int(_native.lib().email_message_uid(self._handle()))

    @property
    def flags(self) -> Flag:
        """The system flags as read."""
        return Flag(_native.lib().email_message_flags(self._handle()))

    @property
    def is_read(self) -> bool:
        """True when the message was read (\\Seen) when it was fetched."""
        return bool(_native.lib().email_message_is_read(self._handle()))

    @property
    def size(self) -> int:
        """The size in bytes on the server (also for headers-only reads)."""
        return int(_native.lib().email_message_size(self._handle()))

    @property
    def subject(self) -> str:
        return self._str("email_message_subject")

    @property
    def sender(self) -> str:
        """The sender as ``"Name <address>"`` (or just the address)."""
        return self._str("email_message_sender")

    @property
    def sender_address(self) -> str:
        return self._str("email_message_sender_address")

    @property
    def sender_name(self) -> str:
        """The sender's display name (``""`` when none)."""
        return self._str("email_message_sender_name")

    @property
    def date(self) -> str:
        """The Date header as written."""
        return self._str("email_message_date")

    @property
    def unix_time(self) -> int:
        """The Date header as Unix seconds (UTC); 0 when absent or unparseable."""
        return int(_native.lib().email_message_timestamp(self._handle()))

    @property
    def timestamp(self) -> Optional[datetime.datetime]:
        """The Date header as an aware UTC datetime, or None when absent or unparseable."""
        t = self.unix_time
        return None if t == 0 else datetime.datetime.fromtimestamp(t, datetime.timezone.utc)

    @property
    def message_id(self) -> str:
        """The Message-ID without angle brackets."""
        return self._str("email_message_message_id")

    @property
    def text(self) -> str:
        """The plain-text body (``""`` when none, or for a headers-only read not loaded)."""
        return self._str("email_message_text")

    @property
    def html(self) -> str:
        """The HTML body (``""`` when none)."""
        return self._str("email_message_html")

    def header(self, name: str) -> Optional[str]:
        """The first header called ``name`` (case-insensitive, decoded), or None."""
        return _native.text(_native.lib().email_message_header(self._handle(), _native.encode(name, "name")))

    def recipients(self, kind: RecipientKind) -> List[Recipient]:
        """The recipients of one kind (To, Cc, Bcc, Reply-To)."""
        lib = _native.lib()
        h = self._handle()
        return [
            Recipient(_native.text(lib.email_message_recipient_name(h, kind, i)) or "",
                      _native.text(lib.email_message_recipient_address(h, kind, i)) or "")
            for i in range(lib.email_message_recipient_count(h, kind))
        ]

    @property
    def to(self) -> List[Recipient]:
        return self.recipients(RecipientKind.TO)

    @property
    def cc(self) -> List[Recipient]:
        return self.recipients(RecipientKind.CC)

    @property
    def bcc(self) -> List[Recipient]:
        """Bcc recipients (only in messages that kept them, e.g. sent mail)."""
        return self.recipients(RecipientKind.BCC)

    @property
    def reply_to(self) -> List[Recipient]:
        return self.recipients(RecipientKind.REPLY_TO)

    @property
    def source(self) -> bytes:
        """The raw RFC 5322 bytes as received (only the header block for a headers-only read
        not loaded)."""
        n = ctypes.c_size_t(0)
        p = _native.lib().email_message_source(self._handle(), ctypes.byref(n))
        return ctypes.string_at(p, n.value) if p and n.value else b""

    @property
    def keywords(self) -> List[str]:
        """The keywords (user flags such as ``$Forwarded``) as read."""
        lib = _native.lib()
        h = self._handle()
        return [_native.text(lib.email_message_keyword(h, i)) or "" for i in range(lib.email_message_keyword_count(h))]

    @property
    def attachments(self) -> List[Attachment]:
        """Attachments, inline parts and attached messages."""
        return [Attachment(self, i) for i in range(_native.lib().email_message_attachment_count(self._handle()))]

    @property
    def decode_error(self) -> Optional[ImapMailError]:
        """None, or a :class:`ProtocolError` when the MIME structure could not be fully decoded
        (the text is then best effort; :attr:`source` has every byte)."""
        lib = _native.lib()
        rc = int(lib.email_message_error(self._handle()))
        if rc == Status.OK:
            return None
        return error_for(rc, self._str("email_message_error_message"))

    def load_body(self, session: "Session") -> "Message":
        """Fetches the body and attachments of a message read with ``headers_only=True``, from
        the session it was read with (its folder must still be selected). Does nothing when the
        body is already there; never sets \\Seen. Returns the message."""
        session.load_body(self)
        return self

    def __repr__(self) -> str:
        if self.closed:
            return "<Message (closed)>"
        return f"<Message uid={self.uid} from={self.sender_address!r} subject={self.subject!r}>"


class MessageList(Sequence[Message]):
    """The messages of :meth:`Session.get_all`, in UID order: a read-only sequence. Freed when
    neither it nor any of its messages is referenced any more, or at :meth:`close` (its
    messages are then closed too)."""

    def __init__(self, handle: int) -> None:
        self._h: Optional[int] = handle
        self._len = int(_native.lib().email_list_count(handle))

    @property
    def closed(self) -> bool:
        return not self._h

    def close(self) -> None:
        """Frees the list and its messages. Idempotent."""
        h, self._h = self._h, None
        if h:
            _native.lib().email_list_free(h)

    def __enter__(self) -> "MessageList":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> Message: ...

    @overload
    def __getitem__(self, index: slice) -> List[Message]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Message, List[Message]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("message index out of range")
        if not self._h:
            raise handle_error("message list")
        h = _native.lib().email_list_get(self._h, index)
        if not h:
            raise handle_error("message list")
        return Message(h, self)

    def __iter__(self) -> Iterator[Message]:
        for i in range(self._len):
            yield self[i]

    def __repr__(self) -> str:
        return f"<MessageList {self._len} messages{' (closed)' if self.closed else ''}>"
