"""The package without a server: finding the library, names, errors, constants, text helpers."""

from __future__ import annotations

import builtins
import ctypes
import os
import shutil
import subprocess
import sys
from typing import Dict

import pytest

import imapmail
from imapmail import _native

PACKAGE = os.path.dirname(os.path.abspath(imapmail.__file__))
PRINT_PATH = "import imapmail; print(imapmail.library_path()); print(imapmail.version())"


def _run(env: Dict[str, str], cwd: str, pythonpath: str = "") -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("IMAPMAIL_LIBRARY", "PYTHONPATH")}
    full.update(env)
    if pythonpath:
        full["PYTHONPATH"] = pythonpath
    return subprocess.run([sys.executable, "-c", PRINT_PATH], capture_output=True, text=True, cwd=cwd, env=full)


def test_version_and_status_names() -> None:
    assert imapmail.version().count(".") >= 2
    assert imapmail.status_name(-5) == "EMAIL_ERR_AUTH"
    assert imapmail.status_name(imapmail.Status.ERR_TIMEOUT) == "EMAIL_ERR_TIMEOUT"
    assert imapmail.status_name(12345) == "EMAIL_ERR_UNKNOWN"


def test_library_from_environment_variable(tmp_path) -> None:
    path = os.path.realpath(imapmail.library_path())
    out = _run({"IMAPMAIL_LIBRARY": path}, str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [path, imapmail.version()]
    bad = _run({"IMAPMAIL_LIBRARY": "/nonexistent/libimapmail.so"}, str(tmp_path))
    assert bad.returncode != 0
    assert "IMAPMAIL_LIBRARY" in bad.stderr and "/nonexistent/libimapmail.so" in bad.stderr


def test_bundled_library_comes_before_the_system(tmp_path) -> None:
    # A copy of the package with the library inside it, and no IMAPMAIL_LIBRARY.
    copy = tmp_path / "site" / "imapmail"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    bundled = copy / _native._names()[0]
    shutil.copy(os.path.realpath(imapmail.library_path()), bundled)
    out = _run({}, str(tmp_path), pythonpath=str(tmp_path / "site"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == str(bundled)


def test_library_from_the_system_paths(tmp_path) -> None:
    if sys.platform != "linux":
        pytest.fail("this test knows the Linux loader only")
    # No variable, no bundled copy: the loader's search path (here LD_LIBRARY_PATH) finds it.
    copy = tmp_path / "site" / "imapmail"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "libimapmail*"))
    libdir = tmp_path / "lib"
    libdir.mkdir()
    shutil.copy(os.path.realpath(imapmail.library_path()), libdir / "libimapmail.so.0")
    out = _run({"LD_LIBRARY_PATH": str(libdir)}, str(tmp_path), pythonpath=str(tmp_path / "site"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1] == imapmail.version()
    nothing = _run({"LD_LIBRARY_PATH": str(tmp_path)}, str(tmp_path), pythonpath=str(tmp_path / "site"))
    if nothing.returncode == 0:  # the machine has the library installed system-wide
        assert "libimapmail" in nothing.stdout
    else:
        assert "cannot find the imapmail library" in nothing.stderr


def test_no_public_name_shadows_a_builtin() -> None:
    assert sorted(set(imapmail.__all__) & set(dir(builtins))) == []
    for name in imapmail.__all__:
        assert hasattr(imapmail, name), name
    namespace: dict = {}
    exec("from imapmail import *", namespace)
    assert "TimeoutError" not in namespace
    assert issubclass(imapmail.ImapTimeoutError, builtins.TimeoutError)


def test_one_exception_class_per_error_status() -> None:
    classes = {}
    for status in imapmail.Status:
        if status < 0:
            e = imapmail.errors.error_for(status, "why")
            assert isinstance(e, imapmail.ImapMailError)
            assert type(e) is not imapmail.ImapMailError, status
            assert e.status == status and e.message == "why"
            assert e.name == imapmail.status_name(status)
            assert str(e) == f"why ({e.name})"
            classes[type(e)] = status
    assert len(classes) == len([s for s in imapmail.Status if s < 0])
    assert issubclass(imapmail.NotFoundError, LookupError)
    assert issubclass(imapmail.ArgumentError, ValueError)
    assert issubclass(imapmail.ConnectError, ConnectionError)
    assert issubclass(imapmail.LocalIOError, OSError)


def test_constants_match_the_header() -> None:
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "include", "imapmail.h")) as f:
        header = f.read()
    import re

    defines = {k: int(v) for k, v in re.findall(r"#define (EMAIL_\w+) (-?\d+)", header)}
    ours = {}
    for s in imapmail.Status:
        ours["EMAIL_" + s.name] = int(s)
    for f_ in imapmail.Flag:
        ours["EMAIL_FLAG_" + f_.name] = int(f_)
    for a in imapmail.FolderAttr:
        ours["EMAIL_FOLDER_" + a.name] = int(a)
    for k in imapmail.RecipientKind:
        ours["EMAIL_" + k.name] = int(k)
    for m in imapmail.Security:
        ours["EMAIL_SECURITY_" + m.name] = int(m)
    for d in imapmail.TraceDirection:
        ours["EMAIL_TRACE_" + d.name] = int(d)
    from imapmail import constants as c

    ours.update(EMAIL_ACCEPT_INVALID_CERTS=c.ACCEPT_INVALID_CERTS, EMAIL_AUTH_XOAUTH2=c.AUTH_XOAUTH2,
                EMAIL_READ_ALL=c.READ_ALL, EMAIL_READ_UNREAD=c.READ_UNREAD, EMAIL_READ_HEADERS=c.READ_HEADERS,
                EMAIL_READ_MARK_SEEN=c.READ_MARK_SEEN)
    assert ours == defines


def test_last_error_of_this_thread() -> None:
    with pytest.raises(imapmail.ArgumentError):
        imapmail.Session("127.0.0.1", 1, "u", "p", security="none", timeout_ms="soon")
    assert imapmail.last_error() == imapmail.Status.ERR_ARGUMENT
    assert "timeout_ms" in imapmail.last_error_message()
    imapmail.Search().close()  # a successful call resets it
    assert imapmail.last_error() == imapmail.Status.OK
    assert imapmail.last_error_message() == ""


def test_copy_utf16_and_utf8() -> None:
    assert imapmail.copy_utf16("Grüße 😀 𝄞") == "Grüße 😀 𝄞".encode("utf-16-le" if sys.byteorder == "little" else "utf-16-be")
    assert imapmail.copy_utf16(b"a\xffb").decode("utf-16-le" if sys.byteorder == "little" else "utf-16-be") == "a\ufffdb"
    assert imapmail.copy_utf16("") == b""
    assert imapmail.copy_utf8("Grüße", 100) == "Grüße".encode()
    assert imapmail.copy_utf8("Grüße", 4) == b"Gr"  # "ü" is two bytes: never cut in half
    assert imapmail.copy_utf8("Grüße", 5) == "Grü".encode()
    assert imapmail.copy_utf8("x", 1) == b""
    with pytest.raises(imapmail.ArgumentError):
        imapmail.copy_utf8("x", 0)


def test_search_query_builder_rejects_bad_criteria() -> None:
    with imapmail.Search() as q:
        assert q.sender("bob").subject("Grüße").unread().larger(10) is q
        with pytest.raises(imapmail.ArgumentError):
            q.keyword("has space")
        with pytest.raises(imapmail.ArgumentError):
            q.subject("line\r\nbreak")
        with pytest.raises(imapmail.ArgumentError):
            q.uid_range(0, 5)
        with pytest.raises(imapmail.ArgumentError):
            q.flags(0)
        with pytest.raises(TypeError):
            q.since("yesterday")  # type: ignore[arg-type]
    with pytest.raises(imapmail.HandleError):
        q.sender("x")
    assert repr(q) == "<Search (closed)>"


def test_null_handles_are_errors_not_crashes() -> None:
    lib = _native.lib()
    out = ctypes.c_void_p()
    assert lib.email_read_first(None, 0, ctypes.byref(out)) == imapmail.ERR_HANDLE
    assert lib.email_close_session(None) == imapmail.ERR_HANDLE
    # A negative status arrives whole through a pointer-sized result.
    assert lib.email_status_name(-2) == b"EMAIL_ERR_HANDLE"
    assert lib.email_last_error() == -2
    assert lib.email_message_is_read(None) == 0
