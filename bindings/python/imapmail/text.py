"""The library's text copy helpers (``email_copy_utf16``, ``email_copy_utf8``)."""

from __future__ import annotations

import ctypes
from typing import Union

from . import _native
from .constants import Status
from .errors import ArgumentError


def copy_utf16(text: Union[str, bytes]) -> bytes:
    """``text`` (str, or UTF-8 bytes) as UTF-16 code units in the machine's byte order, without
    a terminating 0, converted by the library as Windows/WINDEV hosts get it: characters
    outside the Basic Multilingual Plane become surrogate pairs, invalid UTF-8 becomes U+FFFD."""
    lib = _native.lib()
    raw = _native.encode(text, "text")
    if b"\0" in raw:
        raise ArgumentError(Status.ERR_ARGUMENT, "text contains NUL")
    need = lib.email_copy_utf16(raw, None, 0)
    buf = (ctypes.c_uint16 * need)()
    lib.email_copy_utf16(raw, buf, need)
    return bytes(buf)[: 2 * (need - 1)]


def copy_utf8(text: Union[str, bytes], capacity: int) -> bytes:
    """The longest start of ``text`` that fits, with its terminating NUL, in ``capacity`` bytes,
    cut at a character boundary (never in the middle of a character). Returned without the
    NUL: at most ``capacity - 1`` bytes."""
    lib = _native.lib()
    raw = _native.encode(text, "text")
    if b"\0" in raw:
        raise ArgumentError(Status.ERR_ARGUMENT, "text contains NUL")
    if capacity < 1:
        raise ArgumentError(Status.ERR_ARGUMENT, "capacity must be at least 1")
    buf = ctypes.create_string_buffer(capacity)
    lib.email_copy_utf8(raw, buf, capacity)
    return buf.value
