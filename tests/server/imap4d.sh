#!/usr/bin/env bash
# Throwaway GNU Mailutils imap4d for the imapmail tests (same interface as dovecot.sh).
#
#   imap4d.sh start DIR                          start an instance under DIR, print/write DIR/env
#   imap4d.sh stop DIR                           stop it (waits until every process of it is gone)
#   imap4d.sh status DIR                         exit 0 if running
#   imap4d.sh add-user DIR NAME@DOMAIN PASSWORD  add (or re-password) a user
#   imap4d.sh add-message DIR USER FOLDER FILE [seen]
#   imap4d.sh add-messages DIR USER FOLDER [--seen] FILE [[--seen] FILE ...]
#   imap4d.sh install                            only fetch and unpack imap4d (cached)
#
# imap4d (Debian 12: mailutils-imap4d 3.15) is not installed: its .deb and the libraries it
# needs that the system lacks (libmailutils9, mailutils-common, libgsasl18, ...) are fetched
# with `apt-get download` into $IMAPMAIL_CACHE (default /var/cache/imapmail-test/imap-servers,
# never below the repository: a clone under /root is mode 0700), unpacked there with
# `dpkg -x` and run from there (LD_LIBRARY_PATH). imap4d reads only the configuration written
# to DIR/imap4d.conf (--config-file), never /etc/mailutils.conf.
#
# Users: imap4d authenticates system accounts. Rather than one /etc/passwd entry per test
# user, the instance uses Mailutils' virtual domains: a user logs in as NAME@DOMAIN and is
# looked up in DIR/passwd/DOMAIN (passwd(5) format, SHA-512 crypt), every entry with the uid
# of one throwaway system user, `imapmailgnu` (created once, no login shell), which owns the
# mail files written by this script. (In this configuration imap4d's sessions stay root,
# group mail; the files they create are root's.) Each user's mailboxes are Maildirs below
# DIR/home/DOMAIN/NAME (mode 0700): imap4d refuses a mailbox whose directory is
# world-writable ("File check failed"), as a home directly below /tmp would be.
#
# Loopback only; STARTTLS on the plain port (tls-mode ondemand: LOGIN and AUTHENTICATE PLAIN
# are offered before STARTTLS too) and an implicit-TLS port, with a throwaway test CA
# (DIR/ca.pem). Folders use "/" without prefix, like Dovecot; INBOX has no delimiter and no
# children (\NoInferiors). IMAP4D_OWNER_PID=PID: the instance stops when PID dies.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SELF")"
CACHE="${IMAPMAIL_CACHE:-/var/cache/imapmail-test/imap-servers}"
# The packages imap4d needs at run time; those already installed are not fetched.
PACKAGES=(mailutils-imap4d libmailutils9 mailutils-common libgsasl18 libgssglue1 libntlm0 libmariadb3)
EXTRA_PACKAGES=(openssl python3 util-linux)
RUN_USER=imapmailgnu

die() {
    echo "imap4d.sh: error: $*" >&2
    exit 1
}
# pick_port, port_ready, make_test_certs (and prepare_cache).
# shellcheck source=tests/server/common.sh
. "$SCRIPT_DIR/common.sh"

usage() {
    sed -n '2,10p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# installation (cached)

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local policy_added=0 rc=0
    # Keep package scripts from starting system-wide services.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_added=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
    if [ "$rc" != 0 ]; then
        apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "$@" >&2 && rc=0 || rc=$?
    fi
    [ "$policy_added" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install $* failed (exit $rc)"
}

fetch_debs() {
    local p missing=()
    mkdir -p "$CACHE/imap4d-debs"
    for p in "$@"; do
        compgen -G "$CACHE/imap4d-debs/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "imap4d.sh: downloading ${missing[*]} with apt-get download" >&2
    # _apt must be able to write there (else apt warns and downloads unsandboxed).
    chmod 755 "$CACHE" "$CACHE/imap4d-debs" 2>/dev/null || true
    if ! (cd "$CACHE/imap4d-debs" && apt-get download "${missing[@]}" >&2 2>/dev/null); then
        apt-get update -qq >&2
        (cd "$CACHE/imap4d-debs" && apt-get download "${missing[@]}" >&2) ||
            die "apt-get download ${missing[*]} failed"
    fi
}

ensure_user() {
    getent passwd "$RUN_USER" >/dev/null && return 0
    (
        flock 9
        getent passwd "$RUN_USER" >/dev/null ||
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin --comment "imapmail test imap4d mail owner" "$RUN_USER"
    ) 9>/tmp/.imapmail-useradd.lock || die "cannot create system user $RUN_USER"
}

ensure_installed() {
    local root="$CACHE/imap4d-root" stamp want p wanted=() missing=()
    [ "$(id -u)" = 0 ] || die "must run as root (imap4d switches to the mail user after login)"
    mkdir -p "$CACHE"
    chmod 755 "$CACHE" 2>/dev/null || true
    # One installer at a time (test processes may start servers in parallel).
    exec 8>"$CACHE/.imap4d-install.lock"
    flock 8
    for p in "${EXTRA_PACKAGES[@]}"; do
        installed "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "imap4d.sh: installing with apt-get: ${missing[*]}" >&2
        apt_install "${missing[@]}"
    fi
    for p in "${PACKAGES[@]}"; do
        [ "$p" = mailutils-imap4d ] || ! installed "$p" || continue
        wanted+=("$p")
    done
    fetch_debs "${wanted[@]}"
    want=""
    for p in "${wanted[@]}"; do
        # shellcheck disable=SC2012 # plain Debian file names
        want="$want $(cd "$CACHE/imap4d-debs" && ls "${p}"_*.deb | sort | tail -n 1)"
    done
    stamp="$(cat "$root/.stamp" 2>/dev/null || true)"
    if [ "$stamp" != "$want" ]; then
        echo "imap4d.sh: unpacking$want into $root" >&2
        rm -rf "$root.tmp"
        mkdir -p "$root.tmp"
        for p in $want; do dpkg -x "$CACHE/imap4d-debs/$p" "$root.tmp"; done
        echo "$want" >"$root.tmp/.stamp"
        rm -rf "$root"
        mv "$root.tmp" "$root"
        chmod -R a+rX "$root"
    fi
    ROOT="$root"
    IMAP4D="$ROOT/usr/sbin/imap4d"
    LIBS="$ROOT/usr/lib/x86_64-linux-gnu"
    [ -d "$LIBS" ] || LIBS="$(dirname "$(find "$ROOT/usr/lib" -name 'libmailutils.so.*' | head -n 1)")"
    [ -x "$IMAP4D" ] || die "$IMAP4D is missing"
    if LD_LIBRARY_PATH="$LIBS" ldd "$IMAP4D" | grep -q 'not found'; then
        LD_LIBRARY_PATH="$LIBS" ldd "$IMAP4D" | grep 'not found' >&2
        die "$IMAP4D misses libraries (remove $CACHE/imap4d-* to fetch matching packages)"
    fi
    ensure_user
    flock -u 8
}

# ---------------------------------------------------------------------------
# helpers

resolve_dir() {
    [ -n "${1:-}" ] || usage
    local d
    d="$(readlink -m -- "$1")"
    case "$d" in
    *[!A-Za-z0-9._/+-]*) die "DIR '$d' may only contain A-Z a-z 0-9 . _ / + -" ;;
    esac
    printf '%s' "$d"
}

conf_of() {
    printf '%s/imap4d.conf' "$1"
}

# Every live process of the instance: the daemon and its per-connection children, all started
# with --config-file=DIR/imap4d.conf.
instance_pids() {
    local want p
    want="--config-file=$(conf_of "$1")"
    for p in /proc/[0-9]*; do
        if { tr '\0' '\n' <"$p/cmdline"; } 2>/dev/null | grep -qxF -- "$want"; then
            basename "$p"
        fi
    done
    return 0
}

running() {
    local pid
    pid="$(cat "$1/imap4d.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    { tr '\0' '\n' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qxF -- "--config-file=$(conf_of "$1")" || return 1
    printf '%s' "$pid"
}



gen_certs() {
    local dir="$1"
    make_test_certs "$dir"
    # imap4d's file checks refuse a key readable by others.
    chmod 600 "$dir/ca.key" "$dir/server.key"
}

write_conf() {
    local dir="$1" port="$2" tport="$3"
    cat >"$(conf_of "$dir")" <<EOF
# Generated by tests/server/imap4d.sh: a throwaway test instance on 127.0.0.1 only.
logging { syslog false; }
virtdomain { passwd-dir "$dir/passwd"; }
auth {
  authentication generic:virtdomain;
  authorization virtdomain;
}
mailbox { mailbox-type maildir; }
namespace personal {
  prefix "" {
    directory "\$home";
    delimiter "/";
    mailbox-type maildir;
  };
};
tls {
  ssl-certificate-file "$dir/server.pem";
  ssl-key-file "$dir/server.key";
}
max-children 400;
timeout 600;
pidfile "$dir/imap4d.pid";
server 127.0.0.1:$port { tls-mode ondemand; };
server 127.0.0.1:$tport { tls-mode connection; };
EOF
}

# ---------------------------------------------------------------------------
# commands

cmd_start() {
    local dir
    dir="$(resolve_dir "${1:-}")"
    ensure_installed
    if running "$dir" >/dev/null; then
        die "an instance is already running in $dir; stop it first"
    fi
    mkdir -p "$dir"
    chmod 755 "$dir"
    rm -rf "${dir:?}/passwd" "${dir:?}/home"
    mkdir -p "$dir/passwd" "$dir/home" "$dir/users"
    chmod 755 "$dir/passwd" "$dir/home"
    chmod 700 "$dir/users"
    : >"$dir/imap4d.log"
    gen_certs "$dir"
    CA="$dir/ca.pem"

    local port tport started=0 deadline ok_plain ok_tls pid
    for _ in 1 2 3 4 5; do
        port="$(pick_port)"
        tport="$(pick_port)"
        [ "$port" != "$tport" ] || continue
        write_conf "$dir" "$port" "$tport"
        LD_LIBRARY_PATH="$LIBS" "$IMAP4D" --config-file="$(conf_of "$dir")" --config-lint \
            >>"$dir/imap4d.log" 2>&1 || {
            tail -n 20 "$dir/imap4d.log" >&2
            die "imap4d refused its configuration $(conf_of "$dir")"
        }
        rm -f "$dir/imap4d.pid"
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH="$LIBS" \
            setsid "$IMAP4D" --config-file="$(conf_of "$dir")" --daemon --foreground \
            >>"$dir/imap4d.log" 2>&1 </dev/null &
        echo $! >"$dir/imap4d.pid"
        deadline=$((SECONDS + 15))
        ok_plain=0
        ok_tls=0
        while [ "$SECONDS" -le "$deadline" ]; do
            [ "$ok_plain" = 1 ] || { port_ready "$port" plain && ok_plain=1; } || true
            [ "$ok_tls" = 1 ] || { port_ready "$tport" tls && ok_tls=1; } || true
            [ "$ok_plain$ok_tls" = 11 ] && break
            running "$dir" >/dev/null || break
            sleep 0.1
        done
        if [ "$ok_plain$ok_tls" = 11 ]; then
            started=1
            break
        fi
        cmd_stop "$dir" >/dev/null 2>&1 || true
        if grep -qi 'in use' "$dir/imap4d.log"; then
            echo "imap4d.sh: port collision ($port/$tport), retrying" >&2
            continue
        fi
        echo "--- $dir/imap4d.log (tail) ---" >&2
        tail -n 30 "$dir/imap4d.log" >&2 || true
        die "imap4d did not answer within 15 s (imap:$port ok=$ok_plain, imaps:$tport ok=$ok_tls)"
    done
    [ "$started" = 1 ] || die "could not start on free ports after 5 attempts"

    pid="$(running "$dir")" || die "imap4d is not running"
    cat >"$dir/env" <<EOF
IMAP_PORT=$port
IMAPS_PORT=$tport
CA_FILE=$dir/ca.pem
IMAP4D_DIR=$dir
IMAP4D_PID=$pid
EOF
    if [ -n "${IMAP4D_OWNER_PID:-}" ] && kill -0 "$IMAP4D_OWNER_PID" 2>/dev/null; then
        # shellcheck disable=SC2016 # expanded by the inner bash
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -e "$3/imap4d.pid" ]; do sleep 1; done
            [ -e "$3/imap4d.pid" ] && IMAP4D_NO_WATCHDOG_KILL=1 "$2" stop "$3"
            ' watchdog "$IMAP4D_OWNER_PID" "$SELF" "$dir" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local dir pids p deadline
    dir="$(resolve_dir "${1:-}")"
    if [ -z "${IMAP4D_NO_WATCHDOG_KILL:-}" ] && [ -r "$dir/watchdog.pid" ]; then
        p="$(cat "$dir/watchdog.pid")"
        if [ -n "$p" ] && grep -q watchdog "/proc/$p/cmdline" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
        fi
        rm -f "$dir/watchdog.pid"
    fi
    pids="$(instance_pids "$dir")"
    if [ -z "$pids" ]; then
        rm -f "$dir/imap4d.pid"
        echo "imap4d.sh: no running instance in $dir" >&2
        return 0
    fi
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while [ "$SECONDS" -le "$deadline" ]; do
        pids="$(instance_pids "$dir")"
        [ -z "$pids" ] && break
        sleep 0.1
    done
    pids="$(instance_pids "$dir")"
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.2
    fi
    rm -f "$dir/imap4d.pid"
    echo "imap4d.sh: stopped instance in $dir"
}

cmd_status() {
    local dir
    dir="$(resolve_dir "${1:-}")"
    if running "$dir" >/dev/null; then
        cat "$dir/env"
        return 0
    fi
    echo "not running" >&2
    return 1
}

# NAME@DOMAIN, each part [A-Za-z0-9._-].
check_user_name() {
    case "$1" in
    *@*@* | @* | *@) die "user name '$1' must be NAME@DOMAIN" ;;
    *@*) ;;
    *) die "user name '$1' must be NAME@DOMAIN (imap4d virtual domains)" ;;
    esac
    case "${1/@/}" in
    *[!A-Za-z0-9._-]*) die "user name '$1' may only contain A-Z a-z 0-9 . _ - and one @" ;;
    esac
}

load_env() {
    [ -r "$1/env" ] || die "$1 is not a started instance (no $1/env)"
    # shellcheck disable=SC1091
    . "$1/env"
}

user_password() {
    local dir="$1" user="$2"
    [ -r "$dir/users/$user" ] || die "unknown user '$user' (add it with add-user first)"
    cat "$dir/users/$user"
}

cmd_add_user() {
    [ $# -eq 3 ] || usage
    local dir name pw local_part domain hash home f tmp uid gid
    dir="$(resolve_dir "$1")"
    name="$2"
    pw="$3"
    check_user_name "$name"
    case "$pw" in *$'\n'* | *$'\r'*) die "password may not contain line breaks" ;; esac
    load_env "$dir"
    local_part="${name%@*}"
    domain="${name#*@}"
    uid="$(id -u "$RUN_USER")"
    gid="$(id -g "$RUN_USER")"
    home="$dir/home/$domain/$local_part"
    mkdir -p "$dir/home/$domain"
    chmod 755 "$dir/home/$domain"
    # Maildirs for INBOX and the folders Dovecot and Cyrus make for every user.
    for f in INBOX Drafts Sent Trash; do
        mkdir -p "$home/$f/cur" "$home/$f/new" "$home/$f/tmp"
    done
    chown -R "$uid:$gid" "$home"
    chmod 700 "$home"
    hash="$(printf '%s' "$pw" | openssl passwd -6 -stdin)"
    (
        exec 9>>"$dir/users/.lock"
        flock 9
        tmp="$(mktemp "$dir/passwd/.$domain.XXXXXX")"
        grep -v "^$local_part:" "$dir/passwd/$domain" >"$tmp" 2>/dev/null || true
        printf '%s:%s:%s:%s:imapmail test user:%s:/usr/sbin/nologin\n' \
            "$local_part" "$hash" "$uid" "$gid" "$home" >>"$tmp"
        chmod 644 "$tmp"
        mv -f "$tmp" "$dir/passwd/$domain"
    )
    (umask 077 && printf '%s' "$pw" >"$dir/users/$name")
    python3 "$SCRIPT_DIR/imap_append.py" imap4d.sh plain "$IMAP_PORT" "$name" "$pw" ""
}

# Messages are written straight into the user's Maildirs (as dovecot.sh does): imap4d 3.15
# ignores the flags and the date given to APPEND, and appends one message in about 50 ms.
# imap4d gives UIDs to new files in the order of their names (<secs>.M<usecs>P<pid>Q<n>), so
# a per-instance clock that only moves forward (DIR/mail.seq, under DIR/mail.lock) makes the
# UIDs ascend in the order the messages are added; the file time is the Date header (imap4d
# gives it as INTERNALDATE); "S" files go to cur/ with the \Seen flag (":2,S").
ADD_PY='
import fcntl, os, sys, time
sys.path.insert(0, os.environ["SEED_HELPERS"])
from mailnames import internal_date, mutf7
home, folder = sys.argv[1], sys.argv[2]
uid, gid = int(os.environ["MAIL_UID"]), int(os.environ["MAIL_GID"])
items = [(a[0] == "S", a[1:]) for a in sys.argv[3:]]
if folder.upper() == "INBOX":
    parts = ["INBOX"]
else:
    parts = [mutf7(p) for p in folder.split("/")]
    if any(p in ("", ".", "..") for p in parts):
        sys.exit("imap4d.sh: error: bad folder name %r" % folder)
path = home
for p in parts:
    path = os.path.join(path, p)
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(path, sub)
        if not os.path.isdir(d):
            os.makedirs(d, 0o700)
            os.chown(d, uid, gid)
            os.chown(path, uid, gid)
datas = []
for seen, name in items:
    with open(name, "rb") as f:
        # imap4d keeps messages with LF line ends (APPEND stores them so) and serves them
        # with CRLF; a file with CRLF reads as a message without a header.
        datas.append((seen, f.read().replace(b"\r\n", b"\n")))
dir_ = os.path.dirname(os.path.dirname(os.path.dirname(home)))
pid = os.getpid()
with open(os.path.join(dir_, "mail.lock"), "a+") as lockf:
    fcntl.flock(lockf, fcntl.LOCK_EX)
    seq_path = os.path.join(dir_, "mail.seq")
    try:
        with open(seq_path) as f:
            last = int(f.read().strip() or 0)
    except FileNotFoundError:
        last = 0
    try:
        for n, (seen, data) in enumerate(datas):
            last = max(time.time_ns() // 1000, last + 1)
            secs, usecs = divmod(last, 1000000)
            base = "%d.M%06dP%dQ%d.imapmail" % (secs, usecs, pid, n + 1)
            tmp = os.path.join(path, "tmp", base)
            with open(tmp, "wb") as f:
                f.write(data)
            os.chown(tmp, uid, gid)
            t = internal_date(data)
            if t is not None:
                os.utime(tmp, (t, t))
            os.rename(tmp, os.path.join(path, "cur", base + ":2," + ("S" if seen else "")))
    finally:
        with open(seq_path + ".tmp", "w") as f:
            f.write(str(last))
        os.replace(seq_path + ".tmp", seq_path)
        # An open imap4d session rescans a folder only when the mtime (in whole seconds) of its
        # directory is later than at its last scan; files renamed into cur/ change only cur/.
        # Move it forward, past any scan made so far.
        st = os.stat(path)
        bump = max(int(time.time()), int(st.st_mtime)) + 1
        os.utime(path, (bump, bump))
'

cmd_add_messages_list() { # DIR USER FOLDER S/U-prefixed paths...
    local dir="$1" user="$2" folder="$3" home
    shift 3
    load_env "$dir"
    user_password "$dir" "$user" >/dev/null
    home="$dir/home/${user#*@}/${user%@*}"
    [ -d "$home" ] || die "no home directory $home for '$user'"
    SEED_HELPERS="$SCRIPT_DIR" MAIL_UID="$(id -u "$RUN_USER")" MAIL_GID="$(id -g "$RUN_USER")" \
        python3 -c "$ADD_PY" "$home" "$folder" "$@"
}

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
    local file="$4"
    if [ "$file" = - ]; then
        file="$(mktemp)"
        cat >"$file"
        trap 'rm -f "$file"' EXIT
    fi
    [ -r "$file" ] || die "cannot read message file '$file'"
    cmd_add_messages_list "$dir" "$2" "$3" "$flag$file"
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
    cmd_add_messages_list "$dir" "$user" "$folder" "${args[@]}"
}

# ---------------------------------------------------------------------------

[ $# -ge 1 ] || usage
cmd="$1"
shift
case "$cmd" in
start) [ $# -eq 1 ] || usage; cmd_start "$@" ;;
stop) [ $# -eq 1 ] || usage; cmd_stop "$@" ;;
status) [ $# -eq 1 ] || usage; cmd_status "$@" ;;
install) ensure_installed; echo "imap4d.sh: installed in $CACHE/imap4d-root" ;;
add-user) cmd_add_user "$@" ;;
add-message) cmd_add_message "$@" ;;
add-messages) cmd_add_messages "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
