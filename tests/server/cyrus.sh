#!/usr/bin/env bash
# Throwaway real-Cyrus IMAP server for the imapmail tests (same interface as dovecot.sh).
#
#   cyrus.sh start DIR                          start an instance under DIR, print/write DIR/env
#   cyrus.sh stop DIR                           stop it (waits until every process of it is gone)
#   cyrus.sh status DIR                         exit 0 if running
#   cyrus.sh add-user DIR NAME PASSWORD         add (or re-password) a user
#   cyrus.sh add-message DIR USER FOLDER FILE [seen]
#   cyrus.sh add-messages DIR USER FOLDER [--seen] FILE [[--seen] FILE ...]
#   cyrus.sh install                            only fetch and unpack Cyrus (cached)
#
# Cyrus (cyrus-imapd) Provides and Conflicts imap-server like dovecot-imapd, so it is not
# installed: its .debs are fetched with `apt-get download` into $IMAPMAIL_CACHE (default
# /var/cache/imapmail-test/imap-servers, outside the clone), unpacked there with `dpkg -x`, and
# run from there; only their runtime libraries are installed with apt-get. Cyrus runs as the
# system user `cyrus` (created when missing), so the cache, DIR and their parents must be
# reachable by that user (not below root's home or a mode-0700 directory: `start` refuses them
# and says so). Loopback only; plain (STARTTLS) and implicit-TLS
# listeners with a throwaway test CA (DIR/ca.pem). Folders use "/" (altnamespace,
# unixhierarchysep), like Dovecot. CYRUS_OWNER_PID=PID: the instance stops when PID dies.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SELF")"
REPO="$(readlink -f "$SCRIPT_DIR/../..")"
# The unpacked server runs as an unprivileged user, which must reach its files: they live outside
# the clone (whose parents may be private: root's home, a mode-0700 mktemp directory), in a
# root-owned mode-0755 directory shared by every clone on the machine.
CACHE="${IMAPMAIL_CACHE:-/var/cache/imapmail-test/imap-servers}"
PACKAGES=(cyrus-common cyrus-imapd)
# Depends of those packages that are not needed to run imapd from the unpacked tree (the
# MTA, tools, the other package itself, and libraries of daemons that are not started).
SKIP_DEPS='^(cyrus-common|cyrus-imapd|default-mta|mail-transport-agent|debconf|debconf-2.0|perl|perl:any|adduser|lsb-base|init-system-helpers|db-util|e2fsprogs|gawk|netbase|libclamav[0-9]*|libzephyr[0-9]*)$'
EXTRA_PACKAGES=(sasl2-bin libsasl2-modules openssl python3)
RUN_USER=cyrus

die() {
    echo "cyrus.sh: error: $*" >&2
    exit 1
}

usage() {
    sed -n '2,10p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------------------
# installation (cached)

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

# The .debs of PACKAGES in $CACHE/debs, downloaded once.
fetch_debs() {
    local p missing=()
    mkdir -p "$CACHE/debs"
    for p in "${PACKAGES[@]}"; do
        compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "cyrus.sh: downloading ${missing[*]} with apt-get download" >&2
    # _apt must be able to write there (else apt warns and downloads unsandboxed).
    chmod 755 "$CACHE" "$CACHE/debs" 2>/dev/null || true
    if ! (cd "$CACHE/debs" && apt-get download "${missing[@]}" >&2 2>/dev/null); then
        apt-get update -qq >&2
        (cd "$CACHE/debs" && apt-get download "${missing[@]}" >&2) || die "apt-get download ${missing[*]} failed"
    fi
}

# Runtime dependencies named by the .debs (first alternative, without versions), minus SKIP_DEPS.
runtime_deps() {
    local deb
    for deb in "$CACHE"/debs/*.deb; do
        case "$(basename "$deb")" in cyrus-common_* | cyrus-imapd_*) ;; *) continue ;; esac
        dpkg-deb -f "$deb" Depends
    done | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -v '^$' |
        grep -Ev "$SKIP_DEPS" | sort -u
}

# prepare_cache, pick_port, port_ready, make_test_certs.
# shellcheck source=tests/server/common.sh
. "$SCRIPT_DIR/common.sh"

ensure_installed() {
    local root="$CACHE/cyrus-root" stamp want p missing=()
    prepare_cache
    # One installer at a time (test processes may start servers in parallel).
    exec 8>"$CACHE/.install.lock"
    flock 8
    fetch_debs
    # shellcheck disable=SC2012 # plain Debian file names
    want="$(cd "$CACHE/debs" && ls cyrus-common_*.deb cyrus-imapd_*.deb | sort | tr '\n' ' ')"
    for p in $(runtime_deps) "${EXTRA_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "cyrus.sh: installing runtime dependencies with apt-get: ${missing[*]}" >&2
        apt_install "${missing[@]}"
    fi
    stamp="$(cat "$root/.stamp" 2>/dev/null || true)"
    if [ "$stamp" != "$want" ]; then
        echo "cyrus.sh: unpacking $want into $root" >&2
        rm -rf "$root.tmp"
        mkdir -p "$root.tmp"
        for p in $want; do dpkg -x "$CACHE/debs/$p" "$root.tmp"; done
        echo "$want" >"$root.tmp/.stamp"
        rm -rf "$root"
        mv "$root.tmp" "$root"
    fi
    chmod 755 "$CACHE" "$root"
    BIN="$root/usr/lib/cyrus/bin"
    LIBS="$root/usr/lib/x86_64-linux-gnu"
    [ -d "$LIBS" ] || LIBS="$(dirname "$(find "$root/usr/lib" -name 'libcyrus_imap.so*' | head -n1)")"
    local b
    for b in master imapd ctl_cyrusdb; do
        [ -x "$BIN/$b" ] || die "$BIN/$b is missing from the unpacked packages"
        if LD_LIBRARY_PATH="$LIBS" ldd "$BIN/$b" | grep -q 'not found'; then
            LD_LIBRARY_PATH="$LIBS" ldd "$BIN/$b" | grep 'not found' >&2
            die "$b misses libraries (remove $CACHE to fetch matching packages)"
        fi
    done
    if ! getent passwd "$RUN_USER" >/dev/null; then
        echo "cyrus.sh: creating the system user '$RUN_USER'" >&2
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            --gid mail "$RUN_USER" || die "cannot create user $RUN_USER"
    fi
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
    [ "${#d}" -le 80 ] || die "DIR '$d' is too long (max 80 characters, unix socket path limit)"
    printf '%s' "$d"
}

master_pid() {
    local dir="$1" pid
    [ -r "$dir/master.pid" ] || return 1
    pid="$(cat "$dir/master.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    grep -q "$dir/imapd.conf" "/proc/$pid/cmdline" 2>/dev/null || return 1
    printf '%s' "$pid"
}

# Every live process of the instance (master and the services it started all carry
# "-C DIR/imapd.conf" on their command line).
instance_pids() {
    local re
    re="$(printf '%s' "$1/imapd.conf" | sed 's/[.+]/\\&/g')"
    pgrep -f -- "-C $re( |\$)" || true
}



gen_certs() {
    local dir="$1"
    make_test_certs "$dir"
    chmod 600 "$dir/ca.key"
    chown "$RUN_USER" "$dir/server.key"
    chmod 600 "$dir/server.key"
}

write_conf() {
    local dir="$1" port="$2" tport="$3"
    cat >"$dir/imapd.conf" <<EOF
# Generated by tests/server/cyrus.sh for a throwaway test instance.
configdirectory: $dir/conf
defaultpartition: default
partition-default: $dir/spool
hashimapspool: false
proc_path: $dir/run/proc
mboxname_lockpath: $dir/run/lock
sievedir: $dir/sieve
lmtpsocket: $dir/run/socket/lmtp
idlesocket: $dir/run/socket/idle
notifysocket: $dir/run/socket/notify
servername: localhost
syslog_prefix: imapmail-cyrus
# Folders as in Dovecot: no INBOX. prefix, "/" as separator (Cyrus 3 upstream defaults).
altnamespace: yes
unixhierarchysep: yes
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $dir/sasldb2
sasl_mech_list: PLAIN LOGIN
# INBOX and the special-use folders are made at the first login.
autocreate_quota: 0
autocreate_inbox_folders: Drafts | Sent | Trash
xlist-drafts: Drafts
xlist-sent: Sent
xlist-trash: Trash
# Keep messages byte for byte (no munging of raw 8-bit header bytes).
munge8bit: no
reject8bit: no
imapidlepoll: 1
tls_server_cert: $dir/server.pem
tls_server_key: $dir/server.key
tls_versions: tls1_2 tls1_3
EOF
    cat >"$dir/cyrus.conf" <<EOF
# Generated by tests/server/cyrus.sh for a throwaway test instance.
START {
  recover cmd="$BIN/ctl_cyrusdb -C $dir/imapd.conf -r"
}
SERVICES {
  imap  cmd="$BIN/imapd -C $dir/imapd.conf" listen="127.0.0.1:$port" prefork=1 maxchild=200
  imaps cmd="$BIN/imapd -s -C $dir/imapd.conf" listen="127.0.0.1:$tport" prefork=1 maxchild=200
}
EVENTS {
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
    if ! runuser -u "$RUN_USER" -- test -x "$dir"; then
        die "DIR $dir is not reachable by the user '$RUN_USER' (a parent directory is private?)"
    fi
    rm -rf "${dir:?}/conf" "${dir:?}/spool" "${dir:?}/run" "${dir:?}/sieve"
    mkdir -p "$dir/conf" "$dir/spool" "$dir/run/socket" "$dir/run/proc" "$dir/run/lock" \
        "$dir/sieve" "$dir/users"
    chmod 700 "$dir/users"
    rm -f "$dir/sasldb2"
    gen_certs "$dir"
    CA="$dir/ca.pem"
    chown -R "$RUN_USER:mail" "$dir/conf" "$dir/spool" "$dir/run" "$dir/sieve"
    ulimit -n 65536 2>/dev/null || true

    local port tport started=0 deadline ok_plain ok_tls
    for _ in 1 2 3 4 5; do
        port="$(pick_port)"
        tport="$(pick_port)"
        [ "$port" != "$tport" ] || continue
        write_conf "$dir" "$port" "$tport"
        : >"$dir/master.log"
        chown "$RUN_USER" "$dir/master.log"
        rm -f "$dir/master.pid"
        LD_LIBRARY_PATH="$LIBS" "$BIN/master" -C "$dir/imapd.conf" -M "$dir/cyrus.conf" \
            -p "$dir/master.pid" -d -L "$dir/master.log" </dev/null >/dev/null 2>&1 ||
            die "cyrus master failed to start (see $dir/master.log)"
        deadline=$((SECONDS + 15))
        ok_plain=0
        ok_tls=0
        while [ "$SECONDS" -le "$deadline" ]; do
            [ "$ok_plain" = 1 ] || { port_ready "$port" plain && ok_plain=1; } || true
            [ "$ok_tls" = 1 ] || { port_ready "$tport" tls && ok_tls=1; } || true
            [ "$ok_plain$ok_tls" = 11 ] && break
            if ! master_pid "$dir" >/dev/null && [ "$SECONDS" -gt $((deadline - 13)) ]; then break; fi
            sleep 0.1
        done
        if [ "$ok_plain$ok_tls" = 11 ]; then
            started=1
            break
        fi
        cmd_stop "$dir" >/dev/null 2>&1 || true
        if grep -qi 'in use' "$dir/master.log"; then
            echo "cyrus.sh: port collision ($port/$tport), retrying" >&2
            continue
        fi
        echo "--- $dir/master.log (tail) ---" >&2
        tail -n 30 "$dir/master.log" >&2 || true
        die "cyrus did not answer within 15 s (imap:$port ok=$ok_plain, imaps:$tport ok=$ok_tls)"
    done
    [ "$started" = 1 ] || die "could not start on free ports after 5 attempts"

    local mpid
    mpid="$(master_pid "$dir")" || die "cyrus master pid file missing"
    cat >"$dir/env" <<EOF
IMAP_PORT=$port
IMAPS_PORT=$tport
CA_FILE=$dir/ca.pem
CYRUS_DIR=$dir
CYRUS_PID=$mpid
EOF
    if [ -n "${CYRUS_OWNER_PID:-}" ] && kill -0 "$CYRUS_OWNER_PID" 2>/dev/null; then
        # shellcheck disable=SC2016 # expanded by the inner bash
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -e "$3/master.pid" ]; do sleep 1; done
            [ -e "$3/master.pid" ] && CYRUS_NO_WATCHDOG_KILL=1 "$2" stop "$3"
            ' watchdog "$CYRUS_OWNER_PID" "$SELF" "$dir" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local dir mpid pids p deadline
    dir="$(resolve_dir "${1:-}")"
    if [ -z "${CYRUS_NO_WATCHDOG_KILL:-}" ] && [ -r "$dir/watchdog.pid" ]; then
        p="$(cat "$dir/watchdog.pid")"
        if [ -n "$p" ] && grep -q watchdog "/proc/$p/cmdline" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
        fi
        rm -f "$dir/watchdog.pid"
    fi
    pids="$(instance_pids "$dir")"
    if [ -z "$pids" ]; then
        rm -f "$dir/master.pid"
        echo "cyrus.sh: no running instance in $dir" >&2
        return 0
    fi
    if mpid="$(master_pid "$dir")"; then kill -TERM "$mpid" 2>/dev/null || true; fi
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
    rm -f "$dir/master.pid"
    echo "cyrus.sh: stopped instance in $dir"
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
    "" | *[!A-Za-z0-9._-]*) die "user name '$1' may only contain A-Z a-z 0-9 . _ -" ;;
    esac
}

load_env() {
    [ -r "$1/env" ] || die "$1 is not a started instance (no $1/env)"
    # shellcheck disable=SC1091
    . "$1/env"
}

# IMAP work (first login, APPEND): tests/server/imap_append.py.

user_password() {
    local dir="$1" user="$2"
    [ -r "$dir/users/$user" ] || die "unknown user '$user' (add it with add-user first)"
    cat "$dir/users/$user"
}

cmd_add_user() {
    [ $# -eq 3 ] || usage
    local dir name pw
    dir="$(resolve_dir "$1")"
    name="$2"
    pw="$3"
    check_user_name "$name"
    case "$pw" in *$'\n'* | *$'\r'*) die "password may not contain line breaks" ;; esac
    load_env "$dir"
    printf '%s' "$pw" | saslpasswd2 -f "$dir/sasldb2" -p -c -u localhost "$name" ||
        die "saslpasswd2 failed for $name"
    chown "$RUN_USER:mail" "$dir/sasldb2"
    chmod 640 "$dir/sasldb2"
    (umask 077 && printf '%s' "$pw" >"$dir/users/$name")
    # The first login creates INBOX, Drafts, Sent and Trash.
    python3 "$SCRIPT_DIR/imap_append.py" cyrus.sh plain "$IMAP_PORT" "$name" "$pw" ""
}

cmd_add_messages_list() { # DIR USER FOLDER S/U-prefixed paths...
    local dir="$1" user="$2" folder="$3" pw
    shift 3
    load_env "$dir"
    pw="$(user_password "$dir" "$user")"
    python3 "$SCRIPT_DIR/imap_append.py" cyrus.sh plain "$IMAP_PORT" "$user" "$pw" "$folder" "$@"
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
install) ensure_installed; echo "cyrus.sh: installed in $CACHE/cyrus-root" ;;
add-user) cmd_add_user "$@" ;;
add-message) cmd_add_message "$@" ;;
add-messages) cmd_add_messages "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
