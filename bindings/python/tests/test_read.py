"""Reading the fixture's mail: iterators, get_all, headers only and load_body, fields,
attachments, search, counts, progress and trace."""

from __future__ import annotations

import datetime
import os
import re
import threading

import pytest

import imapmail
from imapmail import Flag, RecipientKind, Search, TraceDirection


def test_iterate_all_messages_and_fields(connect) -> None:
    with connect() as s:
        msgs = list(s)
        assert [m.uid for m in msgs] == [1, 2, 3]
        first, second, third = msgs
    assert s.closed
    # Messages outlive their session.
    assert first.subject == "Hello from imapmail"
    assert first.sender == "Alice Example <alice@example.com>"
    assert first.sender_address == "alice@example.com"
    assert first.sender_name == "Alice Example"
    assert first.to == [("", "pkg@example.com")]
    assert first.recipients(RecipientKind.TO) == first.to
    assert [str(r) for r in first.cc] == ["Carol <carol@example.com>"]
    assert first.cc[0].name == "Carol" and first.cc[0].address == "carol@example.com"
    assert first.bcc == [] and first.reply_to == []
    assert first.is_read and Flag.SEEN in first.flags
    assert first.message_id == "hello-1@example.com"
    assert first.header("message-id") == "<hello-1@example.com>"
    assert first.header("X-Not-There") is None
    assert first.timestamp == datetime.datetime(2024, 1, 1, 10, 0, tzinfo=datetime.timezone.utc)
    assert first.unix_time == 1704103200
    assert first.date.startswith("Mon, 01 Jan 2024")
    assert "Hello, world." in first.text
    assert first.html == ""
    assert first.source.startswith(b"From: Alice")
    assert first.size == len(first.source)
    assert first.decode_error is None
    assert first.keywords == []
    # Non-BMP characters survive the whole way.
    assert second.subject == "Grüße 😀 𝄞"
    assert second.sender_name == "Zoë"
    assert "Smile 😀 and clef 𝄞." in second.text
    assert not second.is_read and Flag.SEEN not in second.flags
    assert repr(third) == "<Message uid=3 from='bob@example.com' subject='Report with attachments'>"


def test_read_first_and_next(connect) -> None:
    s = connect()
    m = s.read_first(unread=True)
    assert m is not None and m.uid == 2
    m = s.read_next()
    assert m is not None and m.uid == 3
    assert s.read_next() is None
    assert s.read_next() is None  # stays over
    s.select_folder("Tiny")
    assert [m.subject for m in s.messages()] == ["Tiny"]


def test_unread_headers_only_and_load_body(connect) -> None:
    s = connect()
    assert [m.uid for m in s.messages(unread=True)] == [2, 3]
    heads = list(s.messages(headers_only=True))
    assert len(heads) == 3
    third = heads[2]
    assert third.subject == "Report with attachments"
    assert third.attachments == [] and third.text == ""
    assert third.size > len(third.source)  # only the header block is there
    assert third.load_body(s) is third
    assert [a.name for a in third.attachments] == ["report.txt", "data.bin"]
    assert "See attached." in third.text
    assert third.size == len(third.source)
    s.load_body(third)  # a second time does nothing
    assert len(third.attachments) == 2
    # Reading without mark_seen changed nothing on the server, nor did load_body.
    assert [m.uid for m in s.messages(unread=True)] == [2, 3]


def test_get_all_and_attachments(connect, tmp_path) -> None:
    with connect() as s:
        msgs = s.get_all()
    assert len(msgs) == 3 and [m.uid for m in msgs] == [1, 2, 3]
    assert [m.uid for m in msgs[1:]] == [2, 3] and msgs[-1].uid == 3
    att = msgs[2].attachments
    assert [a.name for a in att] == ["report.txt", "data.bin"]
    assert att[1].content_type == "application/octet-stream"
    assert att[1].size == 256
    assert att[1].data == bytes(range(256))
    assert att[0].data.replace(b"\r\n", b"\n") == b"report line 1\nreport line 2\n"
    assert not att[0].is_inline and att[0].content_id == ""
    assert repr(att[1]) == "<Attachment 'data.bin' application/octet-stream 256 bytes>"
    att[1].save(tmp_path)
    att[1].save(str(tmp_path))  # never overwrites
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2 and "data.bin" in names, names
    assert (tmp_path / "data.bin").read_bytes() == bytes(range(256))
    with pytest.raises(imapmail.NotFoundError) as e:
        att[0].save(tmp_path / "missing")
    assert e.value.status == imapmail.ERR_NOT_FOUND
    # Closing the list closes its messages: they fail cleanly afterwards.
    third = msgs[2]
    msgs.close()
    with pytest.raises(imapmail.HandleError):
        third.subject
    with pytest.raises(imapmail.HandleError):
        att[0].data
    assert repr(third) == "<Message (closed)>"


def test_borrowed_messages_keep_their_list_alive(connect) -> None:
    first = connect().get_all(unread=True)[0]  # the list itself is no longer referenced
    import gc

    gc.collect()
    assert first.uid == 2 and first.subject == "Grüße 😀 𝄞"


def test_count(connect) -> None:
    s = connect()
    assert s.count() == 3
    assert s.count(unread=True) == 2
    s.select_folder("Tiny", read_only=True)
    assert s.count() == 1


def test_search(connect) -> None:
    s = connect()
    assert s.search() == [1, 2, 3]
    assert s.search(Search().unread()) == [2, 3]
    assert s.search(Search().read()) == [1]
    assert s.search(Search().sender("alice")) == [1]
    assert s.search(Search().subject("attachments").to("pkg@example.com")) == [3]
    assert s.search(Search().cc("carol")) == [1]
    assert s.search(Search().bcc("nobody")) == []
    assert s.search(Search().body("Hello, world")) == [1]
    assert s.search(Search().text("report line 2")) == [3]
    assert s.search(Search().header("Message-ID", "attach-3")) == [3]
    assert s.search(Search().sent_on(datetime.date(2024, 1, 1))) == [1]
    assert s.search(Search().sent_since(datetime.date(2024, 1, 2))) == [2, 3]
    assert s.search(Search().sent_before(datetime.datetime(2024, 1, 2, 12, 0))) == [1]
    assert s.search(Search().since(datetime.date(2000, 1, 1))) == [1, 2, 3]
    assert s.search(Search().before(datetime.date(2000, 1, 1))) == []
    assert s.search(Search().on(946728000)) == []  # 2000-01-01, as Unix seconds
    assert s.search(Search().larger(1000)) == [3]
    assert s.search(Search().smaller(1000)) == [1, 2]
    assert s.search(Search().uid_range(2)) == [2, 3]
    assert s.search(Search().uid_range(1, 2)) == [1, 2]
    assert s.search(Search().keyword("$NotSet")) == []
    assert s.search(Search().keyword("$NotSet", has=False)) == [1, 2, 3]
    assert s.search(Search().flags(Flag.FLAGGED | Flag.DRAFT, has=False)) == [1, 2, 3]
    # Combinations: operators and methods.
    alice, bob = Search().sender("alice"), Search().sender("bob")
    assert s.search(alice | bob) == [1, 3]
    assert s.search(~alice) == [2, 3]
    assert s.search((alice | bob) & Search().unread()) == [3]
    assert s.search(Search().any_of(alice, bob).none_of(Search().uid_range(3))) == [1]
    assert s.search(Search().all_of(bob).all_of(alice)) == []
    uids = s.search(Search().unread())
    assert len(uids) == 2 and uids[0] == 2 and uids[-1] == 3 and list(uids) == [2, 3]
    assert uids.tolist() == [2, 3] and uids[:1] == [2]
    assert repr(uids) == "Uids([2, 3])"
    with pytest.raises(IndexError):
        uids[2]
    # Reading what a query matches.
    assert [m.uid for m in s.messages(query=alice | bob)] == [1, 3]
    m = s.read_first_search(Search().unread(), headers_only=True)
    assert m is not None and m.uid == 2 and m.text == ""
    assert s.read_next().uid == 3 and s.read_next() is None
    assert s.read_first_search(Search().sender("nobody")) is None
    assert [m.uid for m in s.messages(unread=True, query=alice | bob)] == [3]


def test_progress_callback_reports_and_cancels(connect) -> None:
    s = connect()
    seen = []
    s.set_progress(lambda done, total: seen.append((done, total)))
    assert len(s.get_all()) == 3
    assert seen[-1] == (3, 3) and all(t == 3 for _, t in seen)
    seen.clear()
    assert len(list(s)) == 3
    assert [d for d, _ in seen] == [1, 2, 3]

    class Stop(Exception):
        pass

    def stop(done: int, total: int) -> None:
        raise Stop(done)

    s.set_progress(stop)
    with pytest.raises(Stop) as e:
        s.get_all()
    assert isinstance(e.value.__cause__, imapmail.CancelledError)
    # The session stays usable; without a callback nothing is reported.
    s.set_progress(None)
    seen.clear()
    assert len(s.get_all()) == 3 and seen == []


def test_progress_polled_from_another_thread(connect) -> None:
    s = connect()
    assert s.progress == (0, 0)
    m = s.read_first()
    assert m is not None and s.progress == (1, 3)
    s.get_all(unread=True)
    assert s.progress == imapmail.Progress(2, 2)
    # While one thread reads (and sits in the progress callback, the session busy), another
    # reads the progress without waiting for the session.
    inside, polled = threading.Event(), []

    def poll() -> None:
        assert inside.wait(120)  # only a bound for a broken build: the reader signals first
        polled.append(s.progress)

    def on_progress(done: int, total: int) -> None:
        if done == 2:
            inside.set()
            poller.join(120)  # returns once the poller has its answer
            assert not poller.is_alive()

    poller = threading.Thread(target=poll)
    poller.start()
    s.set_progress(on_progress)
    assert len(s.get_all()) == 3
    assert polled == [(2, 3)]
    assert s.progress == (3, 3)
    s.close()
    with pytest.raises(imapmail.HandleError):
        s.progress


def test_trace_callback_and_trace_file(connect, server, tmp_path) -> None:
    trace = tmp_path / "trace.log"
    s = connect(trace_file=trace)
    lines = []
    s.set_trace(lambda direction, line: lines.append((direction, line)))
    assert s.count() == 3
    sent = [line for d, line in lines if d == TraceDirection.SENT]
    received = [line for d, line in lines if d == TraceDirection.RECEIVED]
    assert any(b"SELECT" in line or b"STATUS" in line or b"SEARCH" in line or b"NOOP" in line for line in sent), sent
    assert received, lines
    assert all(isinstance(d, TraceDirection) for d, _ in lines)
    s.set_trace(None)
    n = len(lines)
    s.count()
    assert len(lines) == n
    s.close()
    logged = trace.read_bytes()
    assert b"LOGIN" in logged or b"AUTHENTICATE" in logged
    assert server["FIX_PASS"].encode() not in logged


def test_trace_queue(connect, server) -> None:
    s = connect(trace_queue=1000)
    login = s.trace_lines()  # the whole session is queued, login included
    assert login and all(line[:3] in ("C: ", "S: ") for line in login), login
    assert any(line.startswith("C: ") and ("LOGIN" in line or "AUTHENTICATE" in line) for line in login)
    assert not any(server["FIX_PASS"] in line for line in login)
    assert s.trace_next() is None  # drained
    assert s.count() == 3
    lines = s.trace_lines()
    assert lines[0].startswith("C: ") and any(line.startswith("S: ") for line in lines)
    # A full queue keeps its lines, drops new ones and says so where they were dropped.
    small = connect(trace_queue=2)
    small.count()
    lines = small.trace_lines()
    assert len(lines) == 3, lines
    assert lines[0].startswith("S: * OK") and lines[1].startswith("C: ")
    assert re.fullmatch(r"-- \d+ line\(s\) dropped: the trace queue was full", lines[2]), lines
    small.count()  # room again after draining
    lines = small.trace_lines()
    assert lines and lines[0].startswith("C: "), lines
    with pytest.raises(imapmail.ArgumentError):
        connect().trace_next()  # started without trace_queue


def test_threads_read_in_parallel(connect) -> None:
    results, errors = [], []

    def work() -> None:
        try:
            with connect() as s:
                results.append(sorted(m.uid for m in s))
        except Exception as e:  # pragma: no cover (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == [[1, 2, 3]] * 4


def test_one_session_shared_by_threads(connect) -> None:
    s = connect()
    counts, errors = [], []

    def work() -> None:
        try:
            for _ in range(5):
                counts.append(s.count())
        except Exception as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and counts == [3] * 15


def test_starttls_plain_and_options(connect, server) -> None:
    with connect(port=int(server["IMAP_PORT"]), security="starttls") as s:
        assert len(list(s)) == 3
    with connect(port=int(server["IMAP_PORT"]), security=imapmail.Security.NONE, ca_file=None) as s:
        assert len(s.get_all(unread=True)) == 2
    with connect(folder="Tiny", timeout_ms=30000, pipelining=False, reconnect=True,
                 max_message_bytes=1 << 20) as s:
        assert s.current_folder == "Tiny"
        assert [m.subject for m in s] == ["Tiny"]
    with connect(options={"folder": "Tiny"}) as s:
        assert s.current_folder == "Tiny"
        assert repr(s) == f"<Session {server['FIX_USER']}@127.0.0.1:{server['IMAPS_PORT']}>"
    assert repr(s) == f"<Session {server['FIX_USER']}@127.0.0.1:{server['IMAPS_PORT']} (closed)>"
