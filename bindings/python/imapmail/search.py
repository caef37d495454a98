"""Search queries (``EmailSearch``) and the UID lists a search returns (``EmailUids``)."""

from __future__ import annotations

import calendar
import ctypes
import datetime
from typing import Any, Iterator, List, Optional, Sequence, Union, overload

from . import _native
from .constants import Flag
from .errors import check, handle_error

When = Union[int, float, datetime.date, datetime.datetime]


def _unix_time(when: When) -> int:
    """Unix seconds of a date criterion: a datetime (naive means UTC), a date (its noon UTC,
    which is that day wherever the server is), or Unix seconds."""
    if isinstance(when, datetime.datetime):
        if when.tzinfo is None:
            return calendar.timegm(when.timetuple())
        return int(when.timestamp())
    if isinstance(when, datetime.date):
        return calendar.timegm((when.year, when.month, when.day, 12, 0, 0))
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return int(when)
    raise TypeError(f"a date criterion must be a date, a datetime or Unix seconds, not {type(when).__name__}")


class Search:
    """A search query, built by adding criteria, all of which must hold (an empty query matches
    every message). Every method returns the query, so calls chain::

        q = Search().sender("alice").unread().since(datetime.date(2024, 1, 1))
        uids = session.search(q)

    ``a | b`` (either matches), ``a & b`` (both) and ``~a`` (not) make new queries. A query is
    not tied to a session: it can be run on several sessions and folders. It is freed when
    garbage-collected, or at :meth:`close` / the end of a ``with`` block.
    """

    def __init__(self) -> None:
        self._h: Optional[int] = _native.lib().email_search_new()
        if not self._h:
            raise MemoryError("imapmail: email_search_new failed")

    def _handle(self) -> int:
        if not self._h:
            raise handle_error("search query")
        return self._h

    @property
    def closed(self) -> bool:
        return not self._h

    def close(self) -> None:
        """Frees the query. Queries it was added to keep their copy. Idempotent."""
        h, self._h = self._h, None
        if h:
            _native.lib().email_search_free(h)

    def __enter__(self) -> "Search":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _add(self, fn: str, *args: Any) -> "Search":
        check(getattr(_native.lib(), fn)(self._handle(), *args))
        return self

    def _text(self, fn: str, value: str) -> "Search":
        return self._add(fn, _native.encode(value, "value"))

    # flags and keywords
    def flags(self, flags: Union[Flag, int], has: bool = True) -> "Search":
        """The message has every flag of ``flags`` (``has=False``: none of them)."""
        return self._add("email_search_flags", int(flags), 1 if has else 0)

    def unread(self) -> "Search":
        """The message is not read (no \\Seen)."""
        return self.flags(Flag.SEEN, has=False)

    def read(self) -> "Search":
        """The message is read (\\Seen)."""
        return self.flags(Flag.SEEN)

    def keyword(self, keyword: str, has: bool = True) -> "Search":
        """The message has (``has=False``: has not) this keyword, e.g. ``$Forwarded``."""
        return self._add("email_search_keyword", _native.encode(keyword, "keyword"), 1 if has else 0)

    # text
    def sender(self, value: str) -> "Search":
        """The From header contains ``value`` (case-insensitive on most servers)."""
        return self._text("email_search_from", value)

    from_ = sender

    def to(self, value: str) -> "Search":
        return self._text("email_search_to", value)

    def cc(self, value: str) -> "Search":
        return self._text("email_search_cc", value)

    def bcc(self, value: str) -> "Search":
        return self._text("email_search_bcc", value)

    def subject(self, value: str) -> "Search":
        return self._text("email_search_subject", value)

    def body(self, value: str) -> "Search":
        """The body (not the headers) contains ``value``."""
        return self._text("email_search_body", value)

    def text(self, value: str) -> "Search":
        """The headers or the body contain ``value``."""
        return self._text("email_search_text", value)

    def header(self, name: str, value: str = "") -> "Search":
        """Header ``name`` contains ``value`` (``""``: the message has the header)."""
        return self._add("email_search_header", _native.encode(name, "name"), _native.encode(value, "value"))

    # dates: IMAP compares whole days
    def since(self, when: When) -> "Search":
        """Arrived (internal date) on or after the day of ``when``."""
        return self._add("email_search_since", _unix_time(when))

    def before(self, when: When) -> "Search":
        """Arrived before the day of ``when``."""
        return self._add("email_search_before", _unix_time(when))

    def on(self, when: When) -> "Search":
        """Arrived on the day of ``when``."""
        return self._add("email_search_on", _unix_time(when))

    def sent_since(self, when: When) -> "Search":
        """The Date header is on or after the day of ``when``."""
        return self._add("email_search_sent_since", _unix_time(when))

    def sent_before(self, when: When) -> "Search":
        return self._add("email_search_sent_before", _unix_time(when))

    def sent_on(self, when: When) -> "Search":
        return self._add("email_search_sent_on", _unix_time(when))

    # sizes and UIDs
    def larger(self, size: int) -> "Search":
        """Larger than ``size`` bytes."""
        return self._add("email_search_larger", size)

    def smaller(self, size: int) -> "Search":
        """Smaller than ``size`` bytes."""
        return self._add("email_search_smaller", size)

    def uid_range(self, first: int, last: Optional[int] = None) -> "Search":
        """UID from ``first`` to ``last`` inclusive (None: up to the newest message)."""
        return self._add("email_search_uid_range", first, last or 0)

    # combining
    def all_of(self, sub: "Search") -> "Search":
        """Every criterion of ``sub`` holds (a copy of ``sub`` is taken)."""
        return self._add("email_search_and", sub._handle())

    def any_of(self, a: "Search", b: "Search") -> "Search":
        """Query ``a`` or query ``b`` matches (copies are taken)."""
        return self._add("email_search_or", a._handle(), b._handle())

    def none_of(self, sub: "Search") -> "Search":
        """Query ``sub`` does not match (a copy is taken)."""
        return self._add("email_search_not", sub._handle())

    def __and__(self, other: "Search") -> "Search":
        return Search().all_of(self).all_of(other)

    def __or__(self, other: "Search") -> "Search":
        return Search().any_of(self, other)

    def __invert__(self) -> "Search":
        return Search().none_of(self)

    def __repr__(self) -> str:
        return f"<Search{' (closed)' if self.closed else ''}>"


class Uids(Sequence[int]):
    """The UIDs a search found, ascending: a read-only sequence of int (compares equal to a
    list of the same UIDs). Freed when garbage-collected or at :meth:`close`."""

    def __init__(self, handle: int) -> None:
        self._h: Optional[int] = handle
        self._len = int(_native.lib().email_uids_count(handle))

    def _handle(self) -> int:
        if not self._h:
            raise handle_error("UID list")
        return self._h

    def close(self) -> None:
        h, self._h = self._h, None
        if h:
            _native.lib().email_uids_free(h)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> List[int]: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[int, List[int]]:
        if isinstance(index, slice):
            return self.tolist()[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("UID index out of range")
        return int(_native.lib().email_uids_get(self._handle(), index))

    def tolist(self) -> List[int]:
        """All the UIDs as a list (one copy of the library's array)."""
        n = ctypes.c_size_t(0)
        p = _native.lib().email_uids_data(self._handle(), ctypes.byref(n))
        return p[: n.value] if p and n.value else []

    def __iter__(self) -> Iterator[int]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Uids, list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        if self._len <= 10:
            return f"Uids({self.tolist()!r})" if self._h else "<Uids (closed)>"
        return f"<Uids {self._len} UIDs>"
