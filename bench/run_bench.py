#!/usr/bin/env python3
"""Runs the tools of the imapmail benchmark against a seeded IMAP server and prints a table.

Called by scripts/bench (which builds the tools, starts Dovecot and seeds the corpus); see
bench/README.md. Every tool runs --runs times, the tools interleaved round by round so that
noise of the shared machine spreads over all of them. For each tool it reports the median and
the minimum wall time (seconds, process start to exit), the ratio of the median to the raw
lower bound of the same kind (full read or header listing), and the peak RSS of the process
(getrusage of the child: ru_maxrss).

Exit status 1 when a tool crashed (non-zero exit, signal, time-out) or imapmail read a wrong
number of messages; a wrong count from another tool is only reported.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

TOOL_TIMEOUT = 900  # seconds for one run of one tool


GNU_TIME = "/usr/bin/time"


def run_child(cmd, env, timeout=TOOL_TIMEOUT):
    """Runs cmd; returns (seconds, peak RSS in bytes, exit code or -signal, stdout, stderr,
    CPU seconds (user + system, the tool's and its children's)).

    The peak RSS comes from GNU time (its %M, the getrusage of the tool's process): Linux
    carries the RSS high-water mark of a process across exec, so the rusage of a child forked
    straight from this Python process would count Python's own memory too.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as rss_file:
        if os.access(GNU_TIME, os.X_OK):
            cmd = [GNU_TIME, "-q", "-f", "%M", "-o", rss_file.name] + list(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        rss = usage.ru_maxrss * 1024
        if cmd[0] == GNU_TIME:
            # (-q: a tool killed by a signal gives exit code 128 + signal, no extra line)
            lines = rss_file.read().split()
            rss = int(lines[-1]) * 1024 if lines and lines[-1].isdigit() else 0
        cpu = usage.ru_utime + usage.ru_stime
        return (elapsed, rss, proc.returncode,
                out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                cpu)


def process_cpu(pid):
    """CPU seconds (user + system) a running process used so far; None when unknown."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def parse_kv(text):
    kv = {}
    for line in text.splitlines():
        for word in line.split():
            if "=" in word:
                k, v = word.split("=", 1)
                kv[k] = v
    return kv


class Tool:
    def __init__(self, name, kind, cmd=None, check_count=False, strict_count=False,
                 curl_uids=None):
        self.name = name
        self.kind = kind  # "full" or "headers": what it is compared with
        self.cmd = cmd
        self.check_count = check_count
        self.strict_count = strict_count  # a wrong count fails the benchmark (imapmail)
        self.curl_uids = curl_uids
        self.times, self.rss, self.failures, self.warnings = [], [], [], []
        self.cpu, self.proxy_cpu = [], []

    def run_once(self, env, expected, port, proxy_pid=None):
        if self.curl_uids is not None:
            return self.run_curl(env, port)
        cmd = [c.replace("{port}", str(port)) for c in self.cmd]
        proxy_before = process_cpu(proxy_pid) if proxy_pid else None
        t, rss, rc, out, err, cpu = run_child(cmd, env)
        proxy_after = process_cpu(proxy_pid) if proxy_pid else None
        if rc != 0:
            self.failures.append("exit %s: %s" % (rc, (err or out).strip()[-600:]))
            return
        got = parse_kv(out).get("messages")
        if self.check_count and got != str(expected):
            msg = "read %s messages, expected %d" % (got, expected)
            (self.failures if self.strict_count else self.warnings).append(msg)
            if self.strict_count:
                return
        self.times.append(t)
        self.rss.append(rss)
        self.cpu.append(cpu)
        if proxy_before is not None and proxy_after is not None:
            self.proxy_cpu.append(proxy_after - proxy_before)

    def run_curl(self, env, port):
        user, password = env["BENCH_USER"], env["IMAPMAIL_PASSWORD"]
        peak = 0
        cpu_total = 0.0
        out_file = env["BENCH_CURL_CONFIG"] + ".out"
        start = time.perf_counter()
        for uid in self.curl_uids:
            url = "imap://127.0.0.1:%d/INBOX;UID=%d" % (port, uid)
            # The credentials come from a curl config file, not the command line.
            t, rss, rc, out, err, cpu = run_child(
                ["curl", "-sS", "--fail", "--max-time", "120", "-K", env["BENCH_CURL_CONFIG"],
                 "-o", out_file, url], env)
            if rc != 0:
                self.failures.append("curl UID %d: exit %s: %s" % (uid, rc, err.strip()[-300:]))
                return
            if os.path.getsize(out_file) == 0:
                self.warnings.append("curl UID %d: empty answer" % uid)
            peak = max(peak, rss)
            cpu_total += cpu
        total = time.perf_counter() - start
        os.unlink(out_file)
        self.times.append(total * self.scale)
        self.rss.append(peak)
        self.cpu.append(cpu_total * self.scale)

    def row(self, baselines):
        if not self.times:
            return [self.name, "FAILED", "", "", "", "", ""]
        med = statistics.median(self.times)
        base = baselines.get(self.kind)
        ratio = "%.1f" % (med / base) if base else ""
        cpu = "%.2f" % statistics.median(self.cpu) if self.cpu else ""
        return [self.name, "%.3f" % med, "%.3f" % min(self.times), ratio,
                "%.0f" % (max(self.rss) / 1e6), cpu, self.note()]

    def note(self):
        notes = []
        if self.curl_uids is not None:
            notes.append("%d of %d messages, time x%.0f" % (len(self.curl_uids), self.total,
                                                             self.scale))
        if self.proxy_cpu:
            notes.append("proxy CPU %.2f s" % statistics.median(self.proxy_cpu))
        if self.failures:
            notes.append("%d failed run(s)" % len(self.failures))
        if self.warnings:
            notes.append(self.warnings[0])
        return "; ".join(notes)


def print_table(title, tools):
    baselines = {}
    for t in tools:
        if t.name.startswith("raw") and t.times:
            baselines.setdefault(t.kind, statistics.median(t.times))
    header = ["tool", "median s", "min s", "x raw", "peak RSS MB", "CPU s", "note"]
    rows = [header] + [t.row(baselines) for t in tools]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    print(title)
    for n, r in enumerate(rows):
        cells = [r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in range(1, 6)] + [r[6]]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths[:6]) + "  ----")
    print("x raw: median divided by the median of the raw C client of the same kind "
          "(full read, or header listing). CPU s: the tool's own CPU time (user + system, "
          "median); proxy CPU: what the latency proxy used meanwhile, on the same cores.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--messages", type=int, required=True, help="messages in INBOX")
    ap.add_argument("--corpus-bytes", type=int, default=0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bin", required=True,
                    help="directory of raw_fetch, latency_proxy and imapmail_bench*")
    ap.add_argument("--imapmail", action="append", default=[], metavar="LABEL=BINARY",
                    help="an imapmail_bench build to measure (repeatable)")
    ap.add_argument("--curl-messages", type=int, default=200,
                    help="messages fetched by curl (one process each), spread over the folder")
    ap.add_argument("--rtt-ms", type=float, default=0)
    ap.add_argument("--json", help="write every sample here")
    ap.add_argument("--skip", default="", help="comma-separated tool groups to leave out: "
                    "raw,imapmail,python,curl")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    skip = set(filter(None, args.skip.split(",")))
    env = dict(os.environ)
    env["BENCH_USER"] = args.user
    if "IMAPMAIL_PASSWORD" not in env:
        sys.exit("run_bench: IMAPMAIL_PASSWORD is not set")
    fd, curl_cfg = tempfile.mkstemp(prefix="bench-curl-", suffix=".cfg")
    with os.fdopen(fd, "w") as f:
        f.write('user = "%s:%s"\n' % (args.user, env["IMAPMAIL_PASSWORD"]))
    env["BENCH_CURL_CONFIG"] = curl_cfg

    n = args.messages

    def tools_for(curl_count):
        tools = []
        if "raw" not in skip:
            raw = os.path.join(args.bin, "raw_fetch")
            tools.append(Tool("raw C: UID FETCH 1:* BODY.PEEK[]", "full",
                              [raw, "127.0.0.1", "{port}", args.user, "full"], True))
            tools.append(Tool("raw C: header listing", "headers",
                              [raw, "127.0.0.1", "{port}", args.user, "headers"], True))
            # A diagnostic, not a lower bound: the same bytes in pipelined batches paced by
            # tagged completions (as imapmail's reads are), without any parsing or decoding.
            tools.append(Tool("raw C: batches of 50, 4 ahead (diagnostic)", "full",
                              [raw, "127.0.0.1", "{port}", args.user, "batched", "50", "4"],
                              True))
        if "imapmail" not in skip:
            for spec in args.imapmail:
                label, binary = spec.split("=", 1)
                for mode, kind, what in (("read", "full", "read_first/next, full"),
                                         ("getall", "full", "get_all, full + touch all"),
                                         ("getall-held", "full", "get_all, full, as held"),
                                         ("headers", "headers", "READ_HEADERS"),
                                         ("getall-headers", "headers",
                                          "get_all, READ_HEADERS")):
                    tools.append(Tool("imapmail%s: %s" % (label and " " + label, what), kind,
                                      [binary, "127.0.0.1", "{port}", args.user, mode, str(n)],
                                      True, strict_count=True))
        if "python" not in skip:
            py = os.path.join(here, "py_imaplib_bench.py")
            tools.append(Tool("Python imaplib+email: full", "full",
                              [sys.executable, py, "127.0.0.1", "{port}", args.user, "full"],
                              True))
            tools.append(Tool("Python imaplib: header listing", "headers",
                              [sys.executable, py, "127.0.0.1", "{port}", args.user,
                               "headers"], True))
        if "curl" not in skip and curl_count > 0:
            k = min(curl_count, n)
            uids = sorted({1 + (i * n) // k for i in range(k)})
            t = Tool("curl: one process per message", "full", curl_uids=uids)
            t.scale = n / len(uids)
            t.total = n
            tools.append(t)
        return tools

    configs = [("loopback", args.port, tools_for(args.curl_messages))]
    proxy = None
    if args.rtt_ms > 0:
        port_file = curl_cfg + ".port"
        proxy = subprocess.Popen(
            [os.path.join(args.bin, "latency_proxy"), "--target-port",
             str(args.port), "--delay-ms", str(args.rtt_ms / 2), "--port-file", port_file,
             "--max-seconds", "7200"], stdout=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if time.time() > deadline or proxy.poll() is not None:
                sys.exit("run_bench: the latency proxy did not start")
            time.sleep(0.05)
        with open(port_file) as f:
            proxy_port = int(f.read())
        # One process per message costs several round trips each: fewer messages for curl.
        configs.append(("loopback + %g ms RTT (latency_proxy)" % args.rtt_ms, proxy_port,
                        tools_for(max(1, args.curl_messages // 4))))

    results = {"messages": n, "corpus_bytes": args.corpus_bytes, "runs": args.runs,
               "configs": []}
    try:
        for name, port, tools in configs:
            for r in range(args.runs):
                sys.stderr.write("run_bench: %s, round %d/%d\n" % (name, r + 1, args.runs))
                for t in tools:
                    t.run_once(env, n, port, proxy.pid if proxy and port != args.port else None)
            results["configs"].append({"name": name, "tools": [
                {"name": t.name, "kind": t.kind, "seconds": t.times, "peak_rss_bytes": t.rss,
                 "cpu_seconds": t.cpu, "proxy_cpu_seconds": t.proxy_cpu,
                 "failures": t.failures, "warnings": t.warnings} for t in tools]})
    finally:
        if proxy:
            proxy.terminate()
            proxy.wait()
        os.unlink(curl_cfg)

    size = " (%.1f MB)" % (args.corpus_bytes / 1e6) if args.corpus_bytes else ""
    for name, port, tools in configs:
        print_table("== %s: %d messages%s, %d run(s) ==" % (name, n, size, args.runs), tools)
    failed = [(t.name, f) for _, _, tools in configs for t in tools for f in t.failures]
    for tname, f in failed:
        print("FAILED: %s: %s" % (tname, f))
    for _, _, tools in configs:
        for t in tools:
            for w in sorted(set(t.warnings)):
                print("warning: %s: %s" % (t.name, w))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print("samples: %s" % args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
