"""Failures raise the exception of their status, with the library's message, never a secret."""

from __future__ import annotations

import socket

import pytest

import imapmail


def test_wrong_password(connect) -> None:
    with pytest.raises(imapmail.AuthError) as cm:
        connect(password="Wr0ng-Secret-4711")
    e = cm.value
    assert e.status == imapmail.ERR_AUTH and e.name == "EMAIL_ERR_AUTH"
    assert "Wr0ng-Secret-4711" not in str(e)
    assert isinstance(e, imapmail.ImapMailError)


def test_untrusted_certificate(connect) -> None:
    with pytest.raises(imapmail.TLSError) as cm:
        connect(ca_file=None)
    assert "not trusted" in cm.value.message
    assert cm.value.status == imapmail.ERR_TLS


def test_connection_refused_and_bad_arguments(connect) -> None:
    with pytest.raises(imapmail.ConnectError):
        connect(port=1, security="none", ca_file=None)
    with pytest.raises(imapmail.ArgumentError):
        connect(security="ssl")
    with pytest.raises(imapmail.ArgumentError) as cm:
        connect(timeout_ms="soon")
    assert "timeout_ms" in cm.value.message
    with pytest.raises(imapmail.ArgumentError) as cm:
        connect(options={"no_such_option": 1})
    assert "no_such_option" in cm.value.message
    with pytest.raises(imapmail.NotFoundError):
        connect(folder="No/Such/Folder")
    with pytest.raises(imapmail.LocalIOError):
        connect(ca_file="/nonexistent/ca.pem")
    with pytest.raises(imapmail.ArgumentError):
        imapmail.Session("127.0.0.1", user="u")  # no password


def test_server_that_never_answers_times_out() -> None:
    # A listening socket that never accepts: the TCP connection is made (the kernel completes
    # it), the greeting never comes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        with pytest.raises(imapmail.ImapTimeoutError) as cm:
            imapmail.Session("127.0.0.1", port, "u", "p", security="none", timeout_ms=300)
    assert isinstance(cm.value, TimeoutError)
    assert cm.value.status == imapmail.ERR_TIMEOUT


def test_closed_session_and_message(connect) -> None:
    s = connect()
    m = next(iter(s))
    assert s.last_status == imapmail.Status.OK and s.last_error_message == ""
    with pytest.raises(imapmail.NotFoundError):
        s.select_folder("No-Such-Folder")
    assert s.last_status == imapmail.Status.ERR_NOT_FOUND
    assert s.last_error_message != ""
    s.select_folder("INBOX")
    s.close()
    s.close()  # idempotent
    with pytest.raises(imapmail.HandleError):
        list(s)
    with pytest.raises(imapmail.HandleError):
        s.count()
    with pytest.raises(imapmail.HandleError):
        s.last_status
    assert m.uid == 1  # messages outlive their session
    with m:
        assert m.subject == "Hello from imapmail"
    with pytest.raises(imapmail.HandleError):
        m.subject
    m.close()


def test_load_body_needs_the_message_folder(connect) -> None:
    s = connect()
    head = s.read_first(headers_only=True)
    s.select_folder("Tiny")
    with pytest.raises(imapmail.NotFoundError):
        s.load_body(head)
    s.select_folder("INBOX")
    s.load_body(head)
    assert "Hello, world." in head.text


def test_message_of_another_folder_is_not_found(connect) -> None:
    s = connect()
    tiny = connect(folder="Tiny").read_first()
    with pytest.raises(imapmail.NotFoundError):
        s.mark_read(tiny)


def test_start_flags(connect, server) -> None:
    # accept_invalid_certs: the fixture's certificate is not trusted without ca_file.
    with connect(ca_file=None, accept_invalid_certs=True) as s:
        assert s.count() == 3
    # xoauth2: the password is sent as an OAuth2 token, which the fixture does not accept.
    with pytest.raises(imapmail.AuthError) as cm:
        connect(xoauth2=True)
    assert server["FIX_PASS"] not in str(cm.value)


def test_close_while_another_thread_reads(connect) -> None:
    import threading

    s = connect()
    started, outcome = threading.Event(), []

    def read() -> None:
        try:
            while True:
                for _ in s.messages():
                    started.set()
        except imapmail.HandleError:
            outcome.append("closed")
        except Exception as e:  # pragma: no cover (reported below)
            outcome.append(e)

    t = threading.Thread(target=read)
    t.start()
    assert started.wait(120)  # a bound for a broken build only
    s.close()  # waits for the call in progress, then the reader's next call fails cleanly
    t.join(120)
    assert not t.is_alive()
    assert outcome == ["closed"]


def test_option_names_are_checked_before_sending() -> None:
    with pytest.raises(imapmail.ArgumentError) as cm:
        imapmail.Session("127.0.0.1", 1, "u", "p", options={"folder=x;timeout_ms": 1})
    assert "option name" in cm.value.message
