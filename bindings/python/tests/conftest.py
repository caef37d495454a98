"""Fixtures of the imapmail package's tests: a throwaway Dovecot holding the packaging fixture
(tests/packaging/fixture.sh in the imapmail repository): user "pkg", INBOX with three messages
(UID 1 seen, 2 and 3 unseen, 3 with two attachments) and folder "Tiny" with one message.

tests/suites/python.sh starts the fixture and exports IMAP_PORT, IMAPS_PORT, CA_FILE, FIX_USER
and FIX_PASS; without them, these fixtures start their own instance with
tests/server/dovecot.sh. Tests that change mail work in folders of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from typing import Any, Callable, Dict, Iterator

import pytest

import imapmail

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DOVECOT = os.path.join(ROOT, "tests", "server", "dovecot.sh")
MAIL = os.path.join(ROOT, "tests", "packaging", "mail")


@pytest.fixture(scope="session")
def server() -> Iterator[Dict[str, str]]:
    keys = ("IMAP_PORT", "IMAPS_PORT", "CA_FILE", "FIX_USER", "FIX_PASS")
    if all(os.environ.get(k) for k in keys):
        yield {k: os.environ[k] for k in keys}
        return
    own = tempfile.mkdtemp(prefix="impy.", dir="/tmp")
    d = os.path.join(own, "d")
    env: Dict[str, str] = {}
    try:
        subprocess.run(["bash", DOVECOT, "start", d], check=True, stdout=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, env=dict(os.environ, DOVECOT_OWNER_PID=str(os.getpid())))
        with open(os.path.join(d, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v
        env["FIX_USER"], env["FIX_PASS"] = "pkg", "pkg-password-1"
        subprocess.run(["bash", DOVECOT, "add-user", d, "pkg", env["FIX_PASS"]], check=True)
        subprocess.run(["bash", DOVECOT, "add-messages", d, "pkg", "INBOX", "--seen",
                        os.path.join(MAIL, "01-hello.eml"), os.path.join(MAIL, "02-unicode.eml"),
                        os.path.join(MAIL, "03-attachments.eml")], check=True)
        subprocess.run(["bash", DOVECOT, "add-messages", d, "pkg", "Tiny", os.path.join(MAIL, "04-tiny.eml")],
                       check=True)
        yield env
    finally:
        subprocess.run(["bash", DOVECOT, "stop", d], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        shutil.rmtree(own, ignore_errors=True)


@pytest.fixture
def connect(server: Dict[str, str]) -> Iterator[Callable[..., imapmail.Session]]:
    """connect(**kw) opens a TLS session as the fixture user (keywords override); every session
    it opened is closed at the end of the test."""
    opened = []

    def make(**kw: Any) -> imapmail.Session:
        args: Dict[str, Any] = dict(host="127.0.0.1", port=int(server["IMAPS_PORT"]), user=server["FIX_USER"],
                                    password=server["FIX_PASS"], security="tls", ca_file=server["CA_FILE"])
        args.update(kw)
        s = imapmail.Session(**args)
        opened.append(s)
        return s

    yield make
    for s in opened:
        s.close()


def _message_bytes(subject: str, body: str = "Body text.\r\n", sender: str = "Dan <dan@example.com>") -> bytes:
    return (f"From: {sender}\r\nTo: pkg@example.com\r\nSubject: {subject}\r\n"
            f"Date: Fri, 05 Jan 2024 09:30:00 +0000\r\nMessage-ID: <{uuid.uuid4().hex}@example.com>\r\n"
            f"\r\n{body}").encode("utf-8")


@pytest.fixture
def make_message() -> Callable[..., bytes]:
    """make_message(subject, body=..., sender=...) gives the RFC 5322 bytes of a small message."""
    return _message_bytes


@pytest.fixture
def scratch(connect: Callable[..., imapmail.Session]) -> Iterator[str]:
    """A new, empty folder of this test's own, deleted afterwards."""
    s = connect()
    name = "py-" + uuid.uuid4().hex[:10]
    s.create_folder(name)
    yield name
    try:
        s.select_folder("INBOX")
        s.delete_folder(name)
    except imapmail.ImapMailError:
        pass
