#!/usr/bin/env bash
# Throwaway real-Dovecot IMAP server for the imapmail tests.
#
#   dovecot.sh start DIR                          start an instance under DIR, print/write DIR/env
#   dovecot.sh stop DIR [--purge]                 stop it (waits until all its processes are gone);
#                                                 --purge: then delete DIR
#   dovecot.sh status DIR                         exit 0 if running
#   dovecot.sh add-user DIR NAME PASSWORD         add (or re-password) a user
#   dovecot.sh add-message DIR USER FOLDER FILE [seen]
#   dovecot.sh add-messages DIR USER FOLDER [--seen] FILE [[--seen] FILE ...]
#   dovecot.sh seed-demo DIR                      user demo / demo-password + sample corpus mail
#
# See tests/server/README.md for the details and the guarantees.
set -euo pipefail

# (bash builtins only at top level: forks are slow and add-message is hot)
SELF="${BASH_SOURCE[0]}"
case "$SELF" in /*) ;; *) SELF="$PWD/$SELF" ;; esac
SCRIPT_DIR="${SELF%/*}"
CORPUS_DIR="$SCRIPT_DIR/../corpus"

die() {
    echo "dovecot.sh: error: $*" >&2
    exit 1
}
# make_test_certs (the throwaway CA and server certificate).
# shellcheck source=tests/server/common.sh
. "$SCRIPT_DIR/common.sh"

usage() {
    sed -n '2,13p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# helpers

# Unprivileged system user that owns all test mail (Dovecot refuses to
# access mail as root).
MAIL_USER=imapmailtest

# Debian's python3 starts much faster than a pyenv shim.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

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
    if ! getent passwd "$MAIL_USER" >/dev/null; then
        (
            flock 9
            getent passwd "$MAIL_USER" >/dev/null ||
                useradd --system --user-group --no-create-home --home-dir /nonexistent \
                    --shell /usr/sbin/nologin --comment "imapmail test mail owner" "$MAIL_USER"
        ) 9>/tmp/.imapmail-useradd.lock || die "cannot create system user $MAIL_USER"
    fi
}

# The mail processes run as $MAIL_USER: every ancestor of DIR must be
# traversable by it. A private directory below /tmp or /var/tmp (mktemp -d makes
# 0700 ones) is opened with chmod o+x; anything else (root's home, a private
# directory elsewhere) is left alone and refused, saying what DIR needs.
make_traversable() {
    local p="$1"
    while p="$(dirname "$p")" && [ "$p" != / ]; do
        [ -e "$p" ] || continue # made below by mkdir -p
        if ! setpriv --reuid="$MAIL_USER" --regid="$MAIL_USER" --clear-groups test -x "$p" 2>/dev/null; then
            case "$p" in
            /tmp/?* | /var/tmp/?*)
                echo "dovecot.sh: note: chmod o+x $p (the mail user $MAIL_USER must reach DIR)" >&2
                chmod o+x "$p"
                ;;
            *) die "$p is not searchable by the mail user $MAIL_USER, which must reach DIR: choose a DIR" \
                "whose parent directories others may search (e.g. below /tmp), not below root's home or a" \
                "private directory" ;;
            esac
        fi
    done
}

# Sets DIR to the absolute form of $1; refuses characters that would break
# dovecot.conf or a unix socket path.
resolve_dir() {
    [ -n "${1:-}" ] || usage
    local d="$1"
    case "$d" in /*) ;; *) d="$PWD/$d" ;; esac
    while [ "${#d}" -gt 1 ] && [ "${d%/}" != "$d" ]; do d="${d%/}"; done
    case "$d" in
    *[!A-Za-z0-9._/+-]*) die "DIR '$d' may only contain A-Z a-z 0-9 . _ / + -" ;;
    esac
    # Unix socket paths are limited to 107 bytes; the longest one dovecot
    # makes is about 40 characters below base_dir.
    [ "${#d}" -le 64 ] || die "DIR '$d' is too long (max 64 characters, unix socket path limit)"
    DIR="$d"
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
    # (zombies are dead already; a container init may reap them late)
    ps -e -o pid=,sid=,stat= | awk -v s="$sid" '$2 == s && $3 !~ /^Z/ { print $1 }'
}

pick_port() {
    "$PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Wait until 127.0.0.1:$1 greets with "* OK"; $2 = "tls" for implicit TLS
# (verified against the test CA, host name 127.0.0.1).
port_ready() {
    "$PY" - "$1" "${2:-plain}" "$CA" <<'PY' 2>/dev/null
import socket, ssl, sys
port, mode, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=2)
if mode == "tls":
    ctx = ssl.create_default_context(cafile=ca)
    s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
line = s.makefile("rb").readline()
s.close()
sys.exit(0 if line.startswith(b"* OK") else 1)
PY
}

gen_certs() {
    local dir="$1"
    make_test_certs "$dir"
    # Well-known RFC 7919 group: no slow parameter generation.
    openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$dir/dh.pem" 2>/dev/null
    chmod 600 "$dir/ca.key" "$dir/server.key"
}

write_conf() {
    local dir="$1" port="$2" tport="$3" name
    name="${dir##*/}"
    name="imapmail-${name//[^A-Za-z0-9_-]/_}"
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

# Dovecot never accesses mail as root: every mailbox belongs to the
# dedicated system user $MAIL_USER (created on first use); add-message chowns
# what it writes.
first_valid_uid = 1
first_valid_gid = 1
mail_uid = $MAIL_USER
mail_gid = $MAIL_USER
mail_location = maildir:$dir/mail/%u
mail_fsync = never
# Folders that add-message creates behind Dovecot's back must show up in
# LIST at once, also in sessions that are already open.
mailbox_list_index = no
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
  default_fields = home=$dir/home/%u
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
# No anvil auth penalty: it would delay every login from 127.0.0.1 by 4..15 s
# after a few failed logins with different passwords (tests that try wrong
# passwords; login_trusted_networks does not lift it in 2.3). With mode 0 the
# listener is not created, auth cannot connect and disables the penalty.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    local dir
    resolve_dir "${1:-}"
    dir="$DIR"
    ensure_installed
    if master_pid "$dir" >/dev/null; then
        die "an instance is already running in $dir (pid $(master_pid "$dir")); stop it first"
    fi
    make_traversable "$dir"
    mkdir -p "$dir"
    chmod 755 "$dir"
    rm -rf "$dir/run" # stale sockets/pid of an earlier instance
    mkdir -p "$dir/run" "$dir/state" "$dir/mail" "$dir/home" "$dir/users" "$dir/spool"
    chmod 755 "$dir/users"
    chown "$MAIL_USER:$MAIL_USER" "$dir/mail" "$dir/home"
    : >>"$dir/dovecot.log"
    gen_certs "$dir"
    CA="$dir/ca.pem"

    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

    local port tport out rc started=0
    for _ in 1 2 3 4 5; do
        port="$(pick_port)"
        tport="$(pick_port)"
        [ "$port" != "$tport" ] || continue
        write_conf "$dir" "$port" "$tport"
        rc=0
        # Not $(...): the daemon would keep the pipe open forever.
        dovecot -c "$dir/dovecot.conf" >"$dir/start.out" 2>&1 </dev/null || rc=$?
        out="$(cat "$dir/start.out")"
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
        # shellcheck disable=SC2016 # expanded by the inner bash
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -e "$3/run/master.pid" ]; do sleep 1; done
            [ -e "$3/run/master.pid" ] && DOVECOT_NO_WATCHDOG_KILL=1 bash "$2" stop "$3" $4
            ' watchdog "$DOVECOT_OWNER_PID" "$SELF" "$dir" \
            "$([ "${DOVECOT_WATCHDOG_PURGE:-}" = 1 ] && echo --purge)" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local dir mpid pids p deadline purge=0
    resolve_dir "${1:-}"
    dir="$DIR"
    case "${2:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) usage ;;
    esac
    if [ -z "${DOVECOT_NO_WATCHDOG_KILL:-}" ] && [ -r "$dir/watchdog.pid" ]; then
        p="$(cat "$dir/watchdog.pid")"
        if [ -n "$p" ] && grep -q watchdog "/proc/$p/cmdline" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
        fi
        rm -f "$dir/watchdog.pid"
    fi
    if ! mpid="$(master_pid "$dir")"; then
        echo "dovecot.sh: no running instance in $dir" >&2
        [ "$purge" = 0 ] || purge_dir "$dir"
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
    [ "$purge" = 0 ] || purge_dir "$dir"
}

# rm -rf DIR, but only if it is an instance directory made by this script.
purge_dir() {
    local dir="$1" first=""
    [ -d "$dir" ] || return 0
    if [ -r "$dir/dovecot.conf" ]; then read -r first <"$dir/dovecot.conf" || true; fi
    if [ "$first" = "# Generated by tests/server/dovecot.sh for a throwaway test instance." ]; then
        rm -rf -- "$dir"
        echo "dovecot.sh: removed $dir"
    else
        echo "dovecot.sh: not removing $dir: not an instance directory of this script" >&2
    fi
}

cmd_status() {
    local dir
    resolve_dir "${1:-}"
    dir="$DIR"
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
    resolve_dir "$1"
    dir="$DIR"
    name="$2"
    pw="$3"
    check_user_name "$name"
    case "$pw" in *:* | *$'\n'* | *$'\r'*) die "password may not contain ':' or line breaks" ;; esac
    [ -d "$dir/users" ] || die "$dir is not a started instance (no $dir/users)"
    # (dovecot creates the home directory itself, as the mail user)
    tmp="$dir/users/.tmp.$name.$$"
    # user:password:uid:gid:gecos:home:shell:extra
    # uid/gid stay empty: mail_uid/mail_gid of dovecot.conf apply.
    (umask 022 && printf '%s:{PLAIN}%s::::::\n' "$name" "$pw" >"$tmp")
    mv -f "$tmp" "$dir/users/$name" # atomic: dovecot never sees half a file
}

# The maildir work is done in python (one process for many messages).
# argv: DIR USER FOLDER then a list of "S<path>" (seen) / "U<path>" (unseen).
# (a single-quoted string, not a heredoc: bash reads heredocs byte by byte)
ADD_PY='import fcntl, os, socket, sys, time
sys.path.insert(0, os.environ["SEED_HELPERS"])
from mailnames import internal_date, mutf7

def die(msg):
    sys.stderr.write("dovecot.sh: error: %s\n" % msg)
    sys.exit(1)

dir_, user, folder = sys.argv[1:4]
items = [(a[0] == "S", a[1:]) for a in sys.argv[4:]]
if not os.path.exists(os.path.join(dir_, "users", user)):
    die("unknown user %r (add it with add-user first)" % user)

root = os.path.join(dir_, "mail", user)
if folder.upper() == "INBOX":
    mbox, parents = root, []
else:
    parts = folder.split("/")
    for p in parts:
        if p == "" or "." in p or p.upper() == "INBOX" and len(parts) == 1:
            die("bad folder name %r (use / as separator; a dot is not allowed)" % folder)
    mbox = os.path.join(root, "." + ".".join(mutf7(p) for p in parts))
    # parents become real (selectable) folders too, like IMAP CREATE a/b/c
    parents = [os.path.join(root, "." + ".".join(mutf7(p) for p in parts[:k]))
               for k in range(1, len(parts))]
import pwd
pw = pwd.getpwnam(os.environ["MAIL_USER"])
UID, GID = pw.pw_uid, pw.pw_gid
for d in [root] + parents + [mbox]:
    for sub in ("", "cur", "new", "tmp"):
        p = os.path.join(d, sub) if sub else d
        if not os.path.isdir(p):
            os.makedirs(p, mode=0o700, exist_ok=True)
            os.chown(p, UID, GID)
for d in parents + ([mbox] if mbox != root else []):
    p = os.path.join(d, "maildirfolder")
    if not os.path.exists(p):
        open(p, "a").close()
        os.chown(p, UID, GID)

datas = []
for seen, path in items:
    if path == "-":
        datas.append((seen, sys.stdin.buffer.read()))
    else:
        with open(path, "rb") as f:
            datas.append((seen, f.read()))

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

    # Hold the uidlist lock of Dovecot while renaming the batch in, so that a
    # concurrently syncing IMAP session assigns UIDs to all of it or none.
    uidlock = os.path.join(mbox, "dovecot-uidlist.lock")
    deadline = time.time() + 30
    while True:
        try:
            fd = os.open(uidlock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            # owned by the mail user: a waiting Dovecot puts an inotify watch on it
            os.fchown(fd, UID, GID)
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
            os.chown(tmp, UID, GID)
            t = internal_date(data)
            if t is not None:
                os.utime(tmp, (t, t))
            os.rename(tmp, os.path.join(mbox, "cur", base + ":2," + ("S" if seen else "")))
    finally:
        os.unlink(uidlock)
        with open(seq_path + ".tmp", "w") as f:
            f.write(str(last))
        os.replace(seq_path + ".tmp", seq_path)
'

cmd_add_message() {
    [ $# -eq 4 ] || [ $# -eq 5 ] || usage
    local dir flag=U
    resolve_dir "$1"
    dir="$DIR"
    check_user_name "$2"
    case "${5:-}" in
    seen | --seen | S) flag=S ;;
    "" | unseen | --unseen) flag=U ;;
    *) die "5th argument must be 'seen' (or absent), got '$5'" ;;
    esac
    [ "$4" = - ] || [ -r "$4" ] || die "cannot read message file '$4'"
    SEED_HELPERS="$SCRIPT_DIR" MAIL_USER="$MAIL_USER" "$PY" -S -c "$ADD_PY" "$dir" "$2" "$3" "$flag$4"
}

cmd_add_messages() {
    [ $# -ge 3 ] || usage
    local dir user folder flag=U args=()
    resolve_dir "$1"
    dir="$DIR"
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
    SEED_HELPERS="$SCRIPT_DIR" MAIL_USER="$MAIL_USER" "$PY" -S -c "$ADD_PY" "$dir" "$user" "$folder" "${args[@]}"
}

cmd_seed_demo() {
    local dir f
    resolve_dir "${1:-}"
    dir="$DIR"
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
stop) [ $# -eq 1 ] || [ $# -eq 2 ] || usage; cmd_stop "$@" ;;
status) [ $# -eq 1 ] || usage; cmd_status "$@" ;;
add-user) cmd_add_user "$@" ;;
add-message) cmd_add_message "$@" ;;
add-messages) cmd_add_messages "$@" ;;
seed-demo) [ $# -eq 1 ] || usage; cmd_seed_demo "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
