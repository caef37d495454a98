#!/usr/bin/env python3
"""Test aid only: a loopback TLS front for the throwaway Dovecot, with a certificate chosen by
the test (a self-signed one), for TLS tests of the Windows build under Wine.

    tls_proxy.py --cert CERT.pem --key KEY.pem --upstream PORT --mode tls|starttls --port-file F

Listens on 127.0.0.1 (port written to F). "tls": implicit TLS from the first byte, relayed as
plain IMAP to 127.0.0.1:PORT. "starttls": relays plain IMAP line by line until the client
sends STARTTLS, answers it itself, upgrades the client side and relays the rest. Exits after
--lifetime seconds (default 600) so a crashed test never leaves it running.
"""
import argparse
import os
import re
import select
import socket
import ssl
import sys
import threading

DEBUG = bool(os.environ.get("TLS_PROXY_DEBUG"))
import time


def relay(client, upstream):
    """Copies bytes both ways from one thread (an SSLSocket must not be read and written from
    two threads at once) until either side closes."""
    try:
        while True:
            if isinstance(client, ssl.SSLSocket) and client.pending():
                ready = [client]
            else:
                ready, _, _ = select.select([client, upstream], [], [], 300)
                if not ready:
                    return
            for s in ready:
                data = s.recv(65536)
                if DEBUG:
                    sys.stderr.write("%s %d %r\n" % ("C>" if s is client else "S>", len(data), data[:60]))
                if not data:
                    return
                (upstream if s is client else client).sendall(data)
    except OSError:
        return


def read_line(sock, buf):
    while b"\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buf += data
    line, rest = buf.split(b"\r\n", 1)
    return line + b"\r\n", rest


def serve(conn, args, ctx):
    upstream = socket.create_connection(("127.0.0.1", args.upstream), timeout=30)
    upstream.settimeout(None)
    try:
        if args.mode == "tls":
            try:
                conn = ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: that is a test outcome
            relay(conn, upstream)
            return
        cbuf, ubuf = b"", b""
        line, ubuf = read_line(upstream, ubuf)  # greeting
        conn.sendall(line)
        while True:
            cline, cbuf = read_line(conn, cbuf)
            m = re.match(rb"^(\S+) STARTTLS\r\n$", cline, re.I)
            if m:
                conn.sendall(m.group(1) + b" OK Begin TLS negotiation now\r\n")
                try:
                    conn = ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                relay(conn, upstream)
                return
            upstream.sendall(cline)
            tag = cline.split(b" ", 1)[0]
            while True:
                uline, ubuf = read_line(upstream, ubuf)
                conn.sendall(uline)
                if uline.startswith(tag + b" "):
                    break
    except (EOFError, OSError):
        pass
    finally:
        for s in (conn, upstream):
            try:
                s.close()
            except OSError:
                pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--upstream", type=int, required=True)
    p.add_argument("--mode", choices=("tls", "starttls"), required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--lifetime", type=float, default=600)
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    if os.environ.get("TLS_PROXY_TICKETS") is not None:
        ctx.num_tickets = int(os.environ["TLS_PROXY_TICKETS"])
    if os.environ.get("TLS_PROXY_MAX") == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(1)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    deadline = time.time() + args.lifetime
    while time.time() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.settimeout(None)
        threading.Thread(target=serve, args=(conn, args, ctx), daemon=True).start()
    sys.exit(0)


if __name__ == "__main__":
    main()
