"""Tests of the Python binding against a throwaway Dovecot (tests/server/dovecot.sh) holding
the packaging fixture (tests/packaging/fixture.sh): user "pkg", three INBOX messages.

Run: python3 -m unittest discover -s bindings/python/tests   (tests/suites/python.sh does)
Uses the fixture named by IMAP_PORT/IMAPS_PORT/CA_FILE/FIX_USER/FIX_PASS when set, else
starts its own.
"""
import os
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))

import imapmail  # noqa: E402

ENV = {}
_own_dir = None


def setUpModule():
    global _own_dir
    if os.environ.get("IMAP_PORT") and os.environ.get("FIX_USER"):
        for k in ("IMAP_PORT", "IMAPS_PORT", "CA_FILE", "FIX_USER", "FIX_PASS"):
            ENV[k] = os.environ[k]
        return
    _own_dir = tempfile.mkdtemp(prefix="impy.", dir="/tmp")
    script = os.path.join(ROOT, "tests", "server", "dovecot.sh")
    d = os.path.join(_own_dir, "d")
    subprocess.run(["bash", script, "start", d], check=True, stdout=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, env=dict(os.environ, DOVECOT_OWNER_PID=str(os.getpid())))
    with open(os.path.join(d, "env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            ENV[k] = v
    ENV["FIX_USER"], ENV["FIX_PASS"] = "pkg", "pkg-password-1"
    mail = os.path.join(ROOT, "tests", "packaging", "mail")
    subprocess.run(["bash", script, "add-user", d, "pkg", ENV["FIX_PASS"]], check=True)
    subprocess.run(["bash", script, "add-messages", d, "pkg", "INBOX", "--seen",
                    os.path.join(mail, "01-hello.eml"), os.path.join(mail, "02-unicode.eml"),
                    os.path.join(mail, "03-attachments.eml")], check=True)


def tearDownModule():
    if _own_dir:
        subprocess.run(["bash", os.path.join(ROOT, "tests", "server", "dovecot.sh"), "stop",
                        os.path.join(_own_dir, "d")], stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", _own_dir])


def session(**kw):
    args = dict(host="127.0.0.1", port=int(ENV["IMAPS_PORT"]), user=ENV["FIX_USER"],
                password=ENV["FIX_PASS"], security="tls", ca_file=ENV["CA_FILE"])
    args.update(kw)
    return imapmail.Session(**args)


class LibraryTest(unittest.TestCase):
    def test_version_and_status_names(self):
        self.assertRegex(imapmail.version(), r"^\d+\.\d+\.\d+")
        self.assertEqual(imapmail.status_name(-5), "EMAIL_ERR_AUTH")
        self.assertTrue(os.path.exists(imapmail.library_path()))

    def test_library_env_var(self):
        code = "import imapmail; print(imapmail.library_path())"
        path = imapmail.library_path()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=os.path.join(HERE, ".."), env=dict(os.environ, IMAPMAIL_LIBRARY=path))
        self.assertEqual(out.stdout.strip(), path, out.stderr)
        bad = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=os.path.join(HERE, ".."), env=dict(os.environ, IMAPMAIL_LIBRARY="/nonexistent/libx.so"))
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("IMAPMAIL_LIBRARY", bad.stderr)


class ReadTest(unittest.TestCase):
    def test_iterate_all_messages(self):
        with session() as s:
            msgs = list(s)
            self.assertEqual([m.uid for m in msgs], [1, 2, 3])
            first, second, third = msgs
        # Messages outlive their session.
        self.assertTrue(s.closed)
        self.assertEqual(first.subject, "Hello from imapmail")
        self.assertEqual(first.sender, "Alice Example <alice@example.com>")
        self.assertEqual(first.sender_address, "alice@example.com")
        self.assertEqual(first.sender_name, "Alice Example")
        self.assertEqual(first.to, [("", "pkg@example.com")])
        self.assertEqual([str(r) for r in first.cc], ["Carol <carol@example.com>"])
        self.assertTrue(first.is_read)
        self.assertTrue(first.flags & imapmail.FLAG_SEEN)
        # imapmail.h documents the angle brackets; accept both until the core settles it.
        self.assertEqual(first.message_id.strip("<>"), "hello-1@example.com")
        self.assertEqual(first.timestamp.isoformat(), "2024-01-01T10:00:00+00:00")
        self.assertIn("Hello, world.", first.text)
        self.assertEqual(first.header("message-id"), "<hello-1@example.com>")
        self.assertIsNone(first.header("X-Not-There"))
        self.assertTrue(first.source.startswith(b"From: Alice"))
        self.assertIsNone(first.decode_error)
        # Non-BMP characters survive the whole way.
        self.assertEqual(second.subject, "Grüße 😀 𝄞")
        self.assertEqual(second.sender_name, "Zoë")
        self.assertIn("Smile 😀 and clef 𝄞.", second.text)
        self.assertFalse(second.is_read)
        self.assertEqual(third.attachments[0].name, "report.txt")

    def test_unread_and_headers_only(self):
        with session() as s:
            unread = list(s.messages(unread=True))
            self.assertEqual([m.uid for m in unread], [2, 3])
            heads = list(s.messages(headers_only=True))
            self.assertEqual(len(heads), 3)
            self.assertEqual(heads[2].attachments, [])
            self.assertEqual(heads[2].subject, "Report with attachments")
            # Reading without mark_seen changed nothing on the server.
            self.assertEqual([m.uid for m in s.messages(unread=True)], [2, 3])

    def test_get_all_and_attachments(self):
        with session() as s:
            msgs = s.get_all()
        self.assertEqual(len(msgs), 3)
        att = msgs[2].attachments
        self.assertEqual([a.name for a in att], ["report.txt", "data.bin"])
        self.assertEqual(att[1].content_type, "application/octet-stream")
        self.assertEqual(att[1].data, bytes(range(256)))
        self.assertEqual(att[0].data.replace(b"\r\n", b"\n"), b"report line 1\nreport line 2\n")
        self.assertFalse(att[0].is_inline)
        with tempfile.TemporaryDirectory() as d:
            att[1].save(d)
            att[1].save(d)  # never overwrites
            names = sorted(os.listdir(d))
            self.assertEqual(len(names), 2, names)
            self.assertIn("data.bin", names)
            with open(os.path.join(d, "data.bin"), "rb") as f:
                self.assertEqual(f.read(), bytes(range(256)))
        with self.assertRaises(imapmail.NotFoundError) as cm:
            att[0].save("/nonexistent/dir/for/imapmail")
        self.assertEqual(cm.exception.status, imapmail.ERR_NOT_FOUND)

    def test_starttls_and_plain(self):
        with session(port=int(ENV["IMAP_PORT"]), security="starttls") as s:
            self.assertEqual(len(list(s)), 3)
        with session(port=int(ENV["IMAP_PORT"]), security="none", ca_file=None) as s:
            self.assertEqual(len(s.get_all(unread=True)), 2)

    def test_threads_read_in_parallel(self):
        results, errors = [], []

        def work():
            try:
                with session() as s:
                    results.append(sorted(m.uid for m in s))
            except Exception as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(results, [[1, 2, 3]] * 4)


class ErrorTest(unittest.TestCase):
    def test_wrong_password(self):
        with self.assertRaises(imapmail.AuthError) as cm:
            session(password="Wr0ng-Secret-4711")
        e = cm.exception
        self.assertEqual(e.status, imapmail.ERR_AUTH)
        self.assertEqual(e.name, "EMAIL_ERR_AUTH")
        self.assertNotIn("Wr0ng-Secret-4711", str(e))
        self.assertIsInstance(e, imapmail.ImapMailError)

    def test_untrusted_certificate(self):
        with self.assertRaises(imapmail.TLSError) as cm:
            session(ca_file=None)
        self.assertIn("not trusted", cm.exception.message)
        self.assertEqual(cm.exception.status, imapmail.ERR_TLS)

    def test_connection_refused_and_bad_arguments(self):
        with self.assertRaises(imapmail.ConnectError):
            session(port=1, security="none", ca_file=None)
        with self.assertRaises(imapmail.ArgumentError):
            session(security="ssl")
        with self.assertRaises(imapmail.ArgumentError) as cm:
            session(timeout_ms="soon")
        self.assertIn("timeout_ms", cm.exception.message)
        with self.assertRaises(imapmail.NotFoundError):
            session(folder="No/Such/Folder")

    def test_closed_session_and_message(self):
        s = session()
        m = next(iter(s))
        s.close()
        s.close()  # idempotent
        with self.assertRaises(imapmail.HandleError):
            list(s)
        self.assertEqual(m.uid, 1)
        m.close()
        with self.assertRaises(imapmail.HandleError):
            m.subject


if __name__ == "__main__":
    unittest.main()
