"""Changing mail: folders, append, flags and keywords, move/copy/delete/expunge, IDLE. Each
test works in folders of its own (the ``scratch`` fixture)."""

from __future__ import annotations

import datetime
import uuid

import pytest

import imapmail
from imapmail import Flag, FolderAttr


def test_list_folders(connect) -> None:
    s = connect()
    folders = s.folders()
    names = [f.name for f in folders]
    assert names[0] == "INBOX" and "Tiny" in names
    inbox = folders[0]
    assert FolderAttr.INBOX in inbox.attributes and inbox.selectable
    assert inbox.delimiter in ("/", ".")
    assert str(inbox) == "INBOX"
    assert isinstance(inbox.attribute_text, str)


def test_folder_lifecycle(connect) -> None:
    s = connect()
    base = "py-" + uuid.uuid4().hex[:8]
    delim = s.folders()[0].delimiter
    s.create_folder(base)
    s.create_folder(f"{base}{delim}Grüße")  # non-ASCII names go through modified UTF-7
    names = [f.name for f in s.folders()]
    assert base in names and f"{base}{delim}Grüße" in names
    parent = next(f for f in s.folders() if f.name == base)
    assert FolderAttr.HAS_CHILDREN in parent.attributes
    with pytest.raises(imapmail.ServerError):
        s.create_folder(base)  # exists
    s.subscribe(base)
    assert base in [f.name for f in s.subscribed_folders()]
    s.unsubscribe(base)
    assert base not in [f.name for f in s.subscribed_folders()]
    s.select_folder(f"{base}{delim}Grüße")
    assert s.current_folder == f"{base}{delim}Grüße"
    s.rename_folder(base, base + "-renamed")
    assert s.current_folder == f"{base}-renamed{delim}Grüße"  # selected again under its new name
    assert base not in [f.name for f in s.folders()]
    with pytest.raises(imapmail.NotFoundError):
        s.rename_folder(base, base + "-again")
    s.delete_folder(f"{base}-renamed{delim}Grüße")
    assert s.current_folder == "INBOX"
    s.delete_folder(base + "-renamed")
    assert not [f for f in s.folders() if f.name.startswith(base)]
    with pytest.raises(imapmail.NotFoundError):
        s.delete_folder(base)
    with pytest.raises(imapmail.NotFoundError):
        s.select_folder("No-Such-" + base)
    s.select_folder("INBOX")


def test_folder_status(connect) -> None:
    s = connect()
    st = s.folder_status("INBOX")
    assert (st.messages, st.unseen, st.uidnext) == (3, 2, 4)
    assert st.uidvalidity > 0
    assert s.folder_status("Tiny").messages == 1
    with pytest.raises(imapmail.NotFoundError):
        s.folder_status("No-Such-Folder")


def test_append(connect, scratch, make_message) -> None:
    s = connect()
    when = datetime.datetime(2023, 6, 1, 8, 0, tzinfo=datetime.timezone.utc)
    uid1 = s.append(scratch, make_message("Appended one"), Flag.SEEN | Flag.FLAGGED, internal_date=when)
    uid2 = s.append(scratch, make_message("Appended two").decode())  # str works too
    assert uid1 is not None and uid2 is not None and uid2 > uid1
    s.select_folder(scratch)
    one, two = s.get_all()
    assert (one.uid, one.subject, one.flags) == (uid1, "Appended one", Flag.SEEN | Flag.FLAGGED)
    assert (two.uid, two.subject, two.flags) == (uid2, "Appended two", Flag(0))
    assert s.search(imapmail.Search().on(datetime.date(2023, 6, 1))) == [uid1]
    with pytest.raises(imapmail.NotFoundError):
        s.append("No-Such-Folder-" + scratch, make_message("x"))
    with pytest.raises(imapmail.ArgumentError):
        s.append(scratch, b"")


def test_flags_and_keywords(connect, scratch, make_message) -> None:
    s = connect()
    uid = s.append(scratch, make_message("Flags"))
    s.select_folder(scratch)
    s.mark_read(uid)
    m = s.read_first()
    assert m.is_read and m.uid == uid
    s.mark_read(m, read=False)
    assert m.is_read  # the object keeps the flags it was read with
    assert not s.read_first().is_read
    s.add_flags(uid, Flag.FLAGGED | Flag.ANSWERED)
    s.set_flags(m, Flag.DRAFT)
    assert s.read_first().flags == Flag.FLAGGED | Flag.ANSWERED | Flag.DRAFT
    s.remove_flags(m, Flag.ANSWERED)
    s.set_flags(uid, Flag.DRAFT, add=False)
    assert s.read_first().flags == Flag.FLAGGED
    s.add_keyword(uid, "$Forwarded")
    s.add_keyword(m, "Work")
    assert sorted(s.read_first().keywords) == ["$Forwarded", "Work"]
    assert s.search(imapmail.Search().keyword("Work")) == [uid]
    s.remove_keyword(m, "Work")
    assert s.read_first().keywords == ["$Forwarded"]
    with pytest.raises(imapmail.ArgumentError):
        s.add_keyword(uid, "two words")
    with pytest.raises(imapmail.NotFoundError):
        s.mark_read(uid + 100)
    with pytest.raises(imapmail.ArgumentError):
        s.mark_read(0)
    # In a folder selected read-only a change is refused before anything is sent (a server
    # would answer OK and change nothing), and nothing changes.
    s.select_folder(scratch, read_only=True)
    with pytest.raises(imapmail.ServerError, match="read-only"):
        s.mark_read(uid)
    with pytest.raises(imapmail.ServerError, match="read-only"):
        s.add_flags(uid, Flag.DRAFT)
    m = s.read_first()
    assert not m.is_read and m.flags == Flag.FLAGGED


def test_move_copy_delete_expunge(connect, scratch, make_message) -> None:
    s = connect()
    other = scratch + "-b"
    s.create_folder(other)
    try:
        uids = [s.append(scratch, make_message(f"Message {i}")) for i in range(4)]
        s.select_folder(scratch)
        first = s.read_first()
        copied = s.copy(first, other)
        assert copied is not None
        copied2 = s.copy(uids[1], imapmail.Folder(other, "/", FolderAttr(0), ""))
        assert copied2 is not None and copied2 > copied
        moved = s.move(uids[2], other)
        moved2 = s.move(s.read_first_search(imapmail.Search().uid_range(uids[3])), other)
        assert moved is not None and moved2 is not None
        assert s.search() == uids[:2]
        s.delete(uids[0])
        s.delete(s.read_first_search(imapmail.Search().uid_range(uids[1])))
        assert s.search(imapmail.Search().flags(Flag.DELETED)) == uids[:2]
        s.expunge()
        assert s.search() == [] and s.count() == 0
        s.select_folder(other)
        assert [m.subject for m in s.get_all()] == [f"Message {i}" for i in (0, 1, 2, 3)]
        assert s.search() == [copied, copied2, moved, moved2]
        with pytest.raises(imapmail.NotFoundError):
            s.move(copied, "No-Such-Folder-" + scratch)
        with pytest.raises(imapmail.NotFoundError):
            s.delete(10**6)
    finally:
        s.select_folder("INBOX")
        s.delete_folder(other)


def test_idle(connect, scratch, make_message) -> None:
    watcher = connect(folder=scratch)
    writer = connect()
    # Nothing new: a check (timeout 0) reports no change.
    assert watcher.idle(0) == (False, 0)
    writer.append(scratch, make_message("Wake up"))
    # The message arrived after the watcher last heard from the server: idle sees it at once.
    # 120 s is only a bound for a broken server; the change is reported without waiting.
    result = watcher.idle(120)
    assert result.changed and result.exists == 1
    assert [m.subject for m in watcher] == ["Wake up"]
    with pytest.raises(imapmail.ArgumentError):
        watcher.idle(-1)


def test_reading_with_mark_seen(connect, scratch, make_message) -> None:
    s = connect()
    for i in range(3):
        s.append(scratch, make_message(f"Unread {i}"))
    s.select_folder(scratch)
    assert s.count(unread=True) == 3
    first = s.read_first(unread=True, mark_seen=True)
    assert first is not None and first.subject == "Unread 0"
    assert s.count(unread=True) == 2
    assert [m.subject for m in s.messages(unread=True, headers_only=True, mark_seen=True)] == ["Unread 1", "Unread 2"]
    assert s.count(unread=True) == 0
    assert s.folder_status(scratch).unseen == 0
