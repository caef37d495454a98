"""Folder lists (``EmailStrings``) and folder counters."""

from __future__ import annotations

from typing import List, NamedTuple

from . import _native
from .constants import FolderAttr


class Folder(NamedTuple):
    """A folder of the account, as :meth:`Session.folders` lists it.

    ``name``: its full name (UTF-8, what the folder methods take); ``delimiter``: the hierarchy
    delimiter (``"/"``, ``"."``, or ``""`` when the server has no hierarchy); ``attributes``:
    the known attributes as :class:`FolderAttr` bits; ``attribute_text``: every attribute as
    the server wrote it (e.g. ``"\\HasNoChildren \\Sent"``).
    """

    name: str
    delimiter: str
    attributes: FolderAttr
    attribute_text: str

    @property
    def selectable(self) -> bool:
        """False for a name that is only a level of the hierarchy (\\Noselect)."""
        return not self.attributes & FolderAttr.NOSELECT

    def __str__(self) -> str:
        return self.name


class FolderStatus(NamedTuple):
    """The counters of a folder (:meth:`Session.folder_status`)."""

    messages: int
    unseen: int
    uidnext: int
    uidvalidity: int


class IdleResult(NamedTuple):
    """What :meth:`Session.idle` saw: ``changed`` (messages were added or removed) and
    ``exists`` (the number of messages in the folder now)."""

    changed: bool
    exists: int


def folders_from(handle: int) -> List[Folder]:
    """Reads a folder list and frees it."""
    lib = _native.lib()
    try:
        out = []
        for i in range(lib.email_strings_count(handle)):
            out.append(Folder(
                _native.text(lib.email_strings_get(handle, i)) or "",
                _native.text(lib.email_strings_delimiter(handle, i)) or "",
                FolderAttr(lib.email_strings_attributes(handle, i)),
                _native.text(lib.email_strings_attribute_text(handle, i)) or "",
            ))
        return out
    finally:
        lib.email_strings_free(handle)
