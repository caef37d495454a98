#!/usr/bin/env bash
# Throwaway real-Dovecot IMAP server for the imapmail tests.
#
#   dovecot.sh start DIR                          start an instance under DIR, print/write DIR/env
#   dovecot.sh stop DIR                           stop it (waits until every process of it is gone)
#   dovecot.sh status DIR                         exit 0 if running
#   dovecot.sh add-user DIR NAME PASSWORD         add (or re-password) a user
#   dovecot.sh add-message DIR USER FOLDER FILE [seen]
#   dovecot.sh add-messages DIR USER FOLDER [--seen] FILE [[--seen] FILE ...]
#   dovecot.sh seed-demo DIR                      user demo / demo-password + sample corpus mail
#
# See tests/server/README.md for the details and the guarantees.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SELF")"
CORPUS_DIR="$(readlink -f "$SCRIPT_DIR/../corpus")"

die() {
    echo "dovecot.sh: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,12p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# helpers

ensure_installed() {
    local need=0
    command -v dovecot >/dev/null 2>&1 || need=1
    command -v openssl >/dev/null 2>&1 || need=1
    command -v python3 >/dev/null 2>&1 || need=1
    [ -x /usr/lib/dovecot/imap ] || need=1
    if [ "$need" = 1 ]; then
        echo "dovecot.sh: installing dovecot-imapd, openssl and python3 with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Keep the package scripts from starting the system-wide dovecot service.
        local policy_added=0
        if [ ! -e /usr/sbin/policy-rc.d ]; then
            printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
            chmod 755 /usr/sbin/policy-rc.d
            policy_added=1
        fi
        local rc=0
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
            dovecot-core dovecot-imapd openssl python3; } >&2 || rc=$?
        [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
        [ "$rc" = 0 ] || die "apt-get install failed (exit $rc)"
    fi
    getent passwd dovecot >/dev/null || die "system user 'dovecot' is missing (broken dovecot-core install?)"
    getent passwd dovenull >/dev/null || die "system user 'dovenull' is missing (broken dovecot-core install?)"
}

# Absolute, normalised DIR; refuse characters that would break dovecot.conf or
# a unix socket path.
resolve_dir() {
    [ -n "${1:-}" ] || usage
    local d
    d="$(readlink -m -- "$1")"
    case "$d" in
    *[!A-Za-z0-9._/+-]*) die "DIR '$d' may only contain A-Z a-z 0-9 . _ / + -" ;;
    esac
    # Unix socket paths are limited to 107 bytes; the longest one dovecot
    # makes is about 40 characters below base_dir.
    [ "${#d}" -le 64 ] || die "DIR '$d' is too long (max 64 characters, unix socket path limit)"
    printf '%s' "$d"
}

master_pid() {
    local dir="$1" pid
    [ -r "$dir/run/master.pid" ] || return 1
    pid="$(cat "$dir/run/master.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # Make sure the pid was not recycled by something else.
    grep -q dovecot "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s' "$pid"
}

# All live processes of the session led by the dovecot master (dovecot
# daemonises with setsid(), so every child shares the master's session id).
session_pids() {
    local sid="$1"
    ps -e -o pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'
}

pick_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Wait until 127.0.0.1:$1 greets with "* OK"; $2 = "tls" for implicit TLS.
port_ready() {
    local port="$1" mode="${2:-plain}" line=""
    if [ "$mode" = tls ]; then
        timeout 3 openssl s_client -quiet -connect "127.0.0.1:$port" -CAfile "$CA" \
            -verify_return_error </dev/null 2>/dev/null | head -n1 | grep -q '^\* OK' 
        return $?
    fi
    exec 9<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 1
    read -r -t 3 line <&9 || true
    exec 9>&- 9<&-
    case "$line" in "* OK"*) return 0 ;; esac
    return 1
}

gen_certs() {
    local dir="$1" days=7
    umask 022
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/ca.key" -out "$dir/ca.pem" -days "$days" \
        -subj "/O=imapmail tests/CN=imapmail throwaway test CA $(date +%s)-$$" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$dir/server.key" -out "$dir/server.csr" \
        -subj "/O=imapmail tests/CN=localhost" 2>/dev/null
    cat >"$dir/server.ext" <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
    openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
        -CAcreateserial -CAserial "$dir/ca.srl" -days "$days" -sha256 \
        -extfile "$dir/server.ext" -out "$dir/server.pem" 2>/dev/null
    # Well-known RFC 7919 group: no slow parameter generation.
    openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$dir/dh.pem" 2>/dev/null
    openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null ||
        die "generated server certificate does not verify against the test CA"
    chmod 600 "$dir/ca.key" "$dir/server.key"
}

write_conf() {
    local dir="$1" port="$2" tport="$3" name
    name="imapmail-$(basename "$dir" | tr -c 'A-Za-z0-9_-' '_' | cut -c1-40)"
    cat >"$dir/dovecot.conf" <<EOF
# Generated by tests/server/dovecot.sh for a throwaway test instance.
# Self-contained: nothing from /etc/dovecot is included.
instance_name = $name
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
debug_log_path = $dir/dovecot.log
verbose_proctitle = yes

protocols = imap
listen = 127.0.0.1

ssl = yes
ssl_cert = <$dir/server.pem
ssl_key = <$dir/server.key
ssl_dh = <$dir/dh.pem
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
auth_failure_delay = 0
auth_cache_size = 0
# default auth_username_chars: a-z A-Z 0-9 . - _ @

# Mail belongs to root: the test harness writes the maildirs as root.
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:$dir/mail/%u
mail_fsync = never
mailbox_idle_check_interval = 1 secs

# One passwd-file per user (DIR/users/NAME): dovecot re-reads a passwd-file
# at most once per second, a fresh per-user file is read at first use, so a
# user added while dovecot runs can log in right away.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $dir/users/%u
}
userdb {
  driver = passwd-file
  args = username_format=%u $dir/users/%u
  default_fields = uid=0 gid=0 home=$dir/home/%u
}

namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}

protocol imap {
  mail_max_userip_connections = 10000
}

default_process_limit = 1000
default_client_limit = 4000

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $tport
    ssl = yes
  }
  service_count = 0
  process_min_avail = 1
  client_limit = 2000
}
service imap {
  process_limit = 1000
}
EOF
}

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    local dir
    dir="$(resolve_dir "${1:-}")"
    ensure_installed
    if master_pid "$dir" >/dev/null; then
        die "an instance is already running in $dir (pid $(master_pid "$dir")); stop it first"
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    mkdir -p "$dir/run" "$dir/state" "$dir/mail" "$dir/home" "$dir/users" "$dir/spool"
    chmod 755 "$dir/users"
    : >>"$dir/dovecot.log"
    gen_certs "$dir"
    CA="$dir/ca.pem"

    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

    local attempt port tport out rc started=0
    for attempt in 1 2 3 4 5; do
        port="$(pick_port)"
        tport="$(pick_port)"
        [ "$port" != "$tport" ] || continue
        write_conf "$dir" "$port" "$tport"
        rc=0
        out="$(dovecot -c "$dir/dovecot.conf" 2>&1)" || rc=$?
        if [ "$rc" != 0 ]; then
            if grep -qi 'in use' <<<"$out"; then
                echo "dovecot.sh: port collision ($port/$tport), retrying" >&2
                continue
            fi
            echo "$out" >&2
            echo "--- $dir/dovecot.log (tail) ---" >&2
            tail -n 30 "$dir/dovecot.log" >&2 || true
            die "dovecot failed to start (exit $rc)"
        fi
        started=1
        break
    done
    [ "$started" = 1 ] || die "could not find free ports after 5 attempts"

    local deadline=$((SECONDS + 10)) ok_plain=0 ok_tls=0
    while [ "$SECONDS" -le "$deadline" ]; do
        [ "$ok_plain" = 1 ] || { port_ready "$port" plain && ok_plain=1; } || true
        [ "$ok_tls" = 1 ] || { port_ready "$tport" tls && ok_tls=1; } || true
        [ "$ok_plain$ok_tls" = 11 ] && break
        sleep 0.1
    done
    if [ "$ok_plain$ok_tls" != 11 ]; then
        echo "--- $dir/dovecot.log (tail) ---" >&2
        tail -n 30 "$dir/dovecot.log" >&2 || true
        cmd_stop "$dir" >/dev/null 2>&1 || true
        die "dovecot did not answer within 10 s (imap:$port ok=$ok_plain, imaps:$tport ok=$ok_tls)"
    fi

    local mpid
    mpid="$(master_pid "$dir")" || die "dovecot master pid file missing"
    cat >"$dir/env" <<EOF
IMAP_PORT=$port
IMAPS_PORT=$tport
CA_FILE=$dir/ca.pem
DOVECOT_DIR=$dir
DOVECOT_PID=$mpid
EOF

    # Optional watchdog: stop the instance when the owning process dies
    # (covers test processes killed before their atexit handler runs).
    if [ -n "${DOVECOT_OWNER_PID:-}" ] && kill -0 "$DOVECOT_OWNER_PID" 2>/dev/null; then
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -e "$3/run/master.pid" ]; do sleep 1; done
            [ -e "$3/run/master.pid" ] && DOVECOT_NO_WATCHDOG_KILL=1 "$2" stop "$3"
            ' watchdog "$DOVECOT_OWNER_PID" "$SELF" "$dir" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local dir mpid pids p deadline
    dir="$(resolve_dir "${1:-}")"
    if [ -z "${DOVECOT_NO_WATCHDOG_KILL:-}" ] && [ -r "$dir/watchdog.pid" ]; then
        p="$(cat "$dir/watchdog.pid")"
        if [ -n "$p" ] && grep -q watchdog "/proc/$p/cmdline" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
        fi
        rm -f "$dir/watchdog.pid"
    fi
    if ! mpid="$(master_pid "$dir")"; then
        echo "dovecot.sh: no running instance in $dir" >&2
        return 0
    fi
    kill -TERM "$mpid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while [ "$SECONDS" -le "$deadline" ]; do
        pids="$(session_pids "$mpid")"
        [ -z "$pids" ] && break
        sleep 0.1
    done
    pids="$(session_pids "$mpid")"
    if [ -n "$pids" ]; then
        echo "dovecot.sh: killing leftover processes: $pids" >&2
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$dir/run/master.pid"
    echo "dovecot.sh: stopped instance in $dir"
}

cmd_status() {
    local dir
    dir="$(resolve_dir "${1:-}")"
    if master_pid "$dir" >/dev/null; then
        cat "$dir/env"
        return 0
    fi
    echo "not running" >&2
    return 1
}

check_user_name() {
    case "$1" in
    "" | *[!A-Za-z0-9._@-]*) die "user name '$1' may only contain A-Z a-z 0-9 . _ @ - (dovecot auth_username_chars)" ;;
    esac
}

cmd_add_user() {
    [ $# -eq 3 ] || usage
    local dir name pw tmp
    dir="$(resolve_dir "$1")"
    name="$2"
    pw="$3"
    check_user_name "$name"
    case "$pw" in *:* | *$'\n'* | *$'\r'*) die "password may not contain ':' or line breaks" ;; esac
    [ -d "$dir/users" ] || die "$dir is not a started instance (no $dir/users)"
    mkdir -p "$dir/home/$name"
    tmp="$(mktemp "$dir/users/.tmp.XXXXXX")"
    # user:password:uid:gid:gecos:home:shell:extra
    printf '%s:{PLAIN}%s:0:0::%s::\n' "$name" "$pw" "$dir/home/$name" >"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$dir/users/$name"
}

# The maildir work is done in python (one process for many messages).
# argv: DIR USER FOLDER then a list of "S<path>" (seen) / "U<path>" (unseen).
read -r -d '' ADD_PY <<'PY' || true
import email.utils, errno, fcntl, os, socket, sys, time

def die(msg):
    sys.stderr.write("dovecot.sh: error: %s\n" % msg)
    sys.exit(1)

def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3), the on-disk mailbox name encoding."""
    out, buf = [], []
    def flush():
        if buf:
            import base64
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)

dir_, user, folder = sys.argv[1:4]
items = [(a[0] == "S", a[1:]) for a in sys.argv[4:]]
if not os.path.exists(os.path.join(dir_, "users", user)):
    die("unknown user %r (add it with add-user first)" % user)

root = os.path.join(dir_, "mail", user)
if folder.upper() == "INBOX":
    mbox = root
else:
    parts = folder.split("/")
    for p in parts:
        if p == "" or "." in p or p.upper() == "INBOX" and len(parts) == 1:
            die("bad folder name %r (use '/' as separator; '.' is not allowed)" % folder)
    mbox = os.path.join(root, "." + ".".join(mutf7(p) for p in parts))
for d in (root, mbox):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), mode=0o700, exist_ok=True)
if mbox != root:
    open(os.path.join(mbox, "maildirfolder"), "a").close()

datas = []
for seen, path in items:
    if path == "-":
        datas.append((seen, sys.stdin.buffer.read()))
    else:
        with open(path, "rb") as f:
            datas.append((seen, f.read()))

def internal_date(data):
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    value = None
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if value is not None and line[:1] in (b" ", b"\t"):
            value += b" " + line.strip()
            continue
        if value is not None:
            break
        if line.lower().startswith(b"date:"):
            value = line[5:].strip()
    if value:
        try:
            return email.utils.parsedate_to_datetime(value.decode("ascii", "replace")).timestamp()
        except Exception:
            pass
    return None

host = socket.gethostname().split(".")[0] or "localhost"
pid = os.getpid()

# Instance-wide monotonic microsecond clock, shared by all add-message calls:
# Dovecot sorts new maildir files by the <secs>.M<usecs> part of their name
# before giving them UIDs, so strictly increasing names = UIDs in add order.
with open(os.path.join(dir_, "mail.lock"), "a+") as lockf:
    fcntl.flock(lockf, fcntl.LOCK_EX)
    seq_path = os.path.join(dir_, "mail.seq")
    try:
        with open(seq_path) as f:
            last = int(f.read().strip() or 0)
    except FileNotFoundError:
        last = 0

    # Hold Dovecot's own uidlist lock while renaming the batch in, so that a
    # concurrently syncing IMAP session assigns UIDs to all of it or none.
    uidlock = os.path.join(mbox, "dovecot-uidlist.lock")
    deadline = time.time() + 30
    while True:
        try:
            fd = os.open(uidlock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, ("%d:%s" % (pid, socket.gethostname())).encode())
            os.close(fd)
            break
        except FileExistsError:
            try:
                st = os.stat(uidlock)
                owner = open(uidlock).read().split(":")[0]
                stale = time.time() - st.st_mtime > 120
                if owner.isdigit():
                    try:
                        os.kill(int(owner), 0)
                    except ProcessLookupError:
                        stale = True
                    except PermissionError:
                        pass
                if stale:
                    os.unlink(uidlock)
                    continue
            except (FileNotFoundError, ValueError):
                continue
            if time.time() > deadline:
                die("timed out waiting for %s" % uidlock)
            time.sleep(0.01)
    try:
        for n, (seen, data) in enumerate(datas):
            now = time.time_ns() // 1000
            last = max(now, last + 1)
            secs, usecs = divmod(last, 1000000)
            base = "%d.M%dP%dQ%d.%s" % (secs, usecs, pid, n + 1, host)
            tmp = os.path.join(mbox, "tmp", base)
            with open(tmp, "wb") as f:
                f.write(data)
            t = internal_date(data)
            if t is not None:
                os.utime(tmp, (t, t))
            os.rename(tmp, os.path.join(mbox, "cur", base + ":2," + ("S" if seen else "")))
    finally:
        os.unlink(uidlock)
        with open(seq_path + ".tmp", "w") as f:
            f.write(str(last))
        os.replace(seq_path + ".tmp", seq_path)
PY

cmd_add_message() {
    [ $# -eq 4 ] || [ $# -eq 5 ] || usage
    local dir flag=U
    dir="$(resolve_dir "$1")"
    check_user_name "$2"
    case "${5:-}" in
    seen | --seen | S) flag=S ;;
    "" | unseen | --unseen) flag=U ;;
    *) die "5th argument must be 'seen' (or absent), got '$5'" ;;
    esac
    [ "$4" = - ] || [ -r "$4" ] || die "cannot read message file '$4'"
    python3 -c "$ADD_PY" "$dir" "$2" "$3" "$flag$4"
}

cmd_add_messages() {
    [ $# -ge 3 ] || usage
    local dir user folder flag=U args=()
    dir="$(resolve_dir "$1")"
    user="$2"
    folder="$3"
    shift 3
    check_user_name "$user"
    while [ $# -gt 0 ]; do
        case "$1" in
        --seen) flag=S ;;
        --unseen) flag=U ;;
        *)
            [ -r "$1" ] || die "cannot read message file '$1'"
            args+=("$flag$1")
            flag=U
            ;;
        esac
        shift
    done
    [ ${#args[@]} -gt 0 ] || return 0
    python3 -c "$ADD_PY" "$dir" "$user" "$folder" "${args[@]}"
}

cmd_seed_demo() {
    local dir f
    dir="$(resolve_dir "${1:-}")"
    cmd_add_user "$dir" demo demo-password
    local inbox=(
        --seen 01-plain-ascii.eml
        --seen 02-plain-utf8-qp.eml
        03-subject-utf8-b.eml
        13-subject-iso-2022-jp.eml
        20-alternative.eml
        21-mixed-attachments.eml
        24-related-inline-image.eml
        25-nested.eml
        26-forwarded-rfc822.eml
        29-body-koi8-r.eml
        --seen 30-address-lists.eml
    )
    local args=()
    for f in "${inbox[@]}"; do
        case "$f" in --*) args+=("$f") ;; *) args+=("$CORPUS_DIR/$f") ;; esac
    done
    cmd_add_messages "$dir" demo INBOX "${args[@]}"
    cmd_add_messages "$dir" demo Sent --seen "$CORPUS_DIR/05-subject-iso-8859-1.eml"
    cmd_add_messages "$dir" demo Archive/2024 --seen "$CORPUS_DIR/07-subject-windows-1252.eml" \
        --seen "$CORPUS_DIR/08-subject-windows-1251.eml"
    echo "dovecot.sh: demo user 'demo' / password 'demo-password' seeded (INBOX, Sent, Archive/2024)"
}

# ---------------------------------------------------------------------------

[ $# -ge 1 ] || usage
cmd="$1"
shift
case "$cmd" in
start) [ $# -eq 1 ] || usage; cmd_start "$@" ;;
stop) [ $# -eq 1 ] || usage; cmd_stop "$@" ;;
status) [ $# -eq 1 ] || usage; cmd_status "$@" ;;
add-user) cmd_add_user "$@" ;;
add-message) cmd_add_message "$@" ;;
add-messages) cmd_add_messages "$@" ;;
seed-demo) [ $# -eq 1 ] || usage; cmd_seed_demo "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
