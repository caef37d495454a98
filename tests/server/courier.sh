#!/usr/bin/env bash
# Throwaway real-Courier IMAP server for the imapmail tests (same interface as dovecot.sh).
#
#   courier.sh start DIR                          start an instance under DIR, print/write DIR/env
#   courier.sh stop DIR                           stop it (waits until every process of it is gone)
#   courier.sh status DIR                         exit 0 if running
#   courier.sh add-user DIR NAME PASSWORD         add (or re-password) a user
#   courier.sh add-message DIR USER FOLDER FILE [seen]
#   courier.sh add-messages DIR USER FOLDER [--seen] FILE [[--seen] FILE ...]
#   courier.sh install                            only fetch and unpack Courier-IMAP (cached)
#
# courier-imap Provides and Conflicts imap-server like dovecot-imapd, so it is not installed:
# its .debs (courier-imap, courier-base) are fetched with `apt-get download` into
# $IMAPMAIL_CACHE (default /var/cache/imapmail-test/imap-servers, outside the clone: the
# unprivileged login process must reach it, so not below root's home or a mode-0700
# directory; `start` refuses such a cache or DIR and says so), unpacked there with `dpkg -x`
# and run from there; their runtime dependencies (courier-authlib, authdaemond, userdb, libraries)
# are installed with apt-get. Courier's authentication library has its paths compiled in
# (/etc/courier, /run/courier/authdaemon), so the instance runs in a private mount namespace
# (unshare -m, as root) where DIR/etc and DIR/run are mounted over those: nothing outside DIR
# is written to. Loopback only; STARTTLS and implicit-TLS listeners with a throwaway test CA
# (DIR/ca.pem). Folder names given as "A/B" are Courier's "INBOX.A.B".
# COURIER_OWNER_PID=PID: the instance stops when PID dies.
set -euo pipefail

SELF="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SELF")"
REPO="$(readlink -f "$SCRIPT_DIR/../..")"
# The unpacked server runs as an unprivileged user, which must reach its files: they live outside
# the clone (whose parents may be private: root's home, a mode-0700 mktemp directory), in a
# root-owned mode-0755 directory shared by every clone on the machine.
CACHE="${IMAPMAIL_CACHE:-/var/cache/imapmail-test/imap-servers}"
PACKAGES=(courier-base courier-imap)
# Depends that are not needed to run imapd from the unpacked tree.
SKIP_DEPS='^(courier-base|courier-imap|default-mta|mail-transport-agent|debconf|debconf-2.0|perl|perl:any|adduser|lsb-base|sysvinit-utils|init-d-script|gnutls-bin)$'
EXTRA_PACKAGES=(courier-authlib-userdb courier-authdaemon openssl python3 util-linux)
# Capabilities as in Debian's /etc/courier/imapd.
CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"

die() {
    echo "courier.sh: error: $*" >&2
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

fetch_debs() {
    local p missing=()
    mkdir -p "$CACHE/debs"
    for p in "${PACKAGES[@]}"; do
        compgen -G "$CACHE/debs/${p}_*.deb" >/dev/null || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "courier.sh: downloading ${missing[*]} with apt-get download" >&2
    chmod 755 "$CACHE" "$CACHE/debs" 2>/dev/null || true
    if ! (cd "$CACHE/debs" && apt-get download "${missing[@]}" >&2 2>/dev/null); then
        apt-get update -qq >&2
        (cd "$CACHE/debs" && apt-get download "${missing[@]}" >&2) || die "apt-get download ${missing[*]} failed"
    fi
}

runtime_deps() {
    local deb
    for deb in "$CACHE"/debs/*.deb; do
        case "$(basename "$deb")" in courier-base_* | courier-imap_*) ;; *) continue ;; esac
        dpkg-deb -f "$deb" Depends
    done | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -v '^$' |
        grep -Ev "$SKIP_DEPS" | sort -u
}

# prepare_cache, pick_port, port_ready, make_test_certs.
# shellcheck source=tests/server/common.sh
. "$SCRIPT_DIR/common.sh"

ensure_installed() {
    local root="$CACHE/courier-root" stamp want p missing=()
    prepare_cache
    # One installer at a time (test processes may start servers in parallel).
    exec 8>"$CACHE/.install.lock"
    flock 8
    [ "$(id -u)" = 0 ] || die "must run as root (private mount namespace)"
    fetch_debs
    # shellcheck disable=SC2012 # plain Debian file names
    want="$(cd "$CACHE/debs" && ls courier-base_*.deb courier-imap_*.deb | sort | tr '\n' ' ')"
    for p in $(runtime_deps) "${EXTRA_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "courier.sh: installing runtime dependencies with apt-get: ${missing[*]}" >&2
        apt_install "${missing[@]}"
    fi
    stamp="$(cat "$root/.stamp" 2>/dev/null || true)"
    if [ "$stamp" != "$want" ]; then
        echo "courier.sh: unpacking $want into $root" >&2
        rm -rf "$root.tmp"
        mkdir -p "$root.tmp"
        for p in $want; do dpkg -x "$CACHE/debs/$p" "$root.tmp"; done
        echo "$want" >"$root.tmp/.stamp"
        rm -rf "$root"
        mv "$root.tmp" "$root"
    fi
    ROOT="$root"
    AUTHDAEMOND=/usr/lib/courier/courier-authlib/authdaemond
    local b
    for b in "$ROOT/usr/sbin/couriertcpd" "$ROOT/usr/bin/couriertls" "$ROOT/usr/bin/imapd" \
        "$ROOT/usr/lib/courier/courier/imaplogin" "$AUTHDAEMOND"; do
        [ -x "$b" ] || die "$b is missing"
        if ldd "$b" | grep -q 'not found'; then
            ldd "$b" | grep 'not found' >&2
            die "$b misses libraries (remove $CACHE to fetch matching packages)"
        fi
    done
    command -v makeuserdb >/dev/null || die "makeuserdb is missing (courier-authlib-userdb)"
    command -v unshare >/dev/null || die "unshare is missing (util-linux)"
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

# The mount namespace of the instance, as recorded at start ("mnt:[N]").
instance_ns() {
    [ -r "$1/mntns" ] && cat "$1/mntns"
}

# Every live process in the instance's mount namespace.
instance_pids() {
    local ns p
    ns="$(instance_ns "$1")" || return 0
    [ -n "$ns" ] || return 0
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && basename "$p"
    done
    return 0
}

running() {
    local pid ns
    ns="$(instance_ns "$1")" || return 1
    [ -n "$ns" ] || return 1
    pid="$(cat "$1/authdaemond.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$ns" ] || return 1
    printf '%s' "$pid"
}



gen_certs() {
    local dir="$1"
    make_test_certs "$dir"
    # couriertls wants the key and the certificate in one file.
    cat "$dir/server.key" "$dir/server.pem" >"$dir/etc/imapd.pem"
    chmod 600 "$dir/ca.key" "$dir/server.key"
    # imaplogin has dropped root when it runs couriertls for STARTTLS: the throwaway key must
    # be readable by its unprivileged user.
    chmod 644 "$dir/etc/imapd.pem"
    # Well-known RFC 7919 group: no slow parameter generation.
    openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$dir/etc/dhparams.pem" 2>/dev/null
}

write_conf() {
    local dir="$1" port="$2" tport="$3"
    cat >"$dir/etc/authdaemonrc" <<EOF
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=3
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
EOF
    # Debian's /etc/courier/imapd and imapd-ssl defaults, less automatic Trash purging, and
    # IDLE polling every 2 s instead of 60 (no FAM daemon here; keeps the IDLE test short).
    cat >"$dir/imapd.env" <<EOF
IMAP_CAPABILITY="$CAPABILITY"
IMAP_CAPABILITY_TLS="$CAPABILITY AUTH=PLAIN"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_IDLE_TIMEOUT=2
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_USELOCKS=1
IMAP_ENHANCEDIDLE=0
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=
IMAP_MOVE_EXPUNGE_TO_TRASH=0
HEADERFROM=X-IMAP-Sender
COURIERTLS=$ROOT/usr/bin/couriertls
TLS_CERTFILE=/etc/courier/imapd.pem
TLS_DHPARAMS=/etc/courier/dhparams.pem
TLS_VERIFYPEER=NONE
PATH=/usr/sbin:/usr/bin:/sbin:/bin
EOF
    cat >"$dir/start-in-ns.sh" <<EOF
# Runs inside the private mount namespace (generated by tests/server/courier.sh).
set -eu
mount --bind "$dir/etc" /etc/courier
mount --bind "$dir/run" /run/courier
readlink /proc/self/ns/mnt >"$dir/mntns"
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin setsid "$AUTHDAEMOND" >>"$dir/authdaemond.log" 2>&1 </dev/null &
echo \$! >"$dir/authdaemond.pid"
common="-address=127.0.0.1 -maxprocs=200 -maxperip=200 -nodnslookup -noidentlookup"
env -i sh -c "set -a; . '$dir/imapd.env'; IMAP_STARTTLS=YES; \\
    exec '$ROOT/usr/sbin/couriertcpd' \$common -pid='$dir/imapd.pid' $port \\
    '$ROOT/usr/lib/courier/courier/imaplogin' '$ROOT/usr/bin/imapd' Maildir" \\
    >>"$dir/imapd.log" 2>&1 </dev/null
env -i sh -c "set -a; . '$dir/imapd.env'; IMAP_STARTTLS=NO; IMAP_TLS=1; \\
    exec '$ROOT/usr/sbin/couriertcpd' \$common -pid='$dir/imapd-ssl.pid' $tport \\
    '$ROOT/usr/bin/couriertls' -server -tcpd \\
    '$ROOT/usr/lib/courier/courier/imaplogin' '$ROOT/usr/bin/imapd' Maildir" \\
    >>"$dir/imapd.log" 2>&1 </dev/null
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
    # imaplogin runs couriertls as an unprivileged user, which reads DIR/etc/imapd.pem.
    if ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -x "$dir" 2>/dev/null; then
        die "DIR $dir is not reachable by others (a parent directory is private?): Courier's" \
            "unprivileged login process must read its certificate there"
    fi
    rm -rf "${dir:?}/etc" "${dir:?}/run" "${dir:?}/home"
    mkdir -p "$dir/etc" "$dir/run/authdaemon" "$dir/home" "$dir/users"
    chmod 700 "$dir/users"
    chmod 750 "$dir/run/authdaemon"
    : >"$dir/etc/userdb"
    chmod 600 "$dir/etc/userdb"
    makeuserdb -f "$dir/etc/userdb"
    : >"$dir/imapd.log"
    : >"$dir/authdaemond.log"
    gen_certs "$dir"
    CA="$dir/ca.pem"
    # Mount points of the private namespace (empty folders on the host).
    mkdir -p /etc/courier /run/courier

    local port tport started=0 deadline ok_plain ok_tls
    for _ in 1 2 3 4 5; do
        port="$(pick_port)"
        tport="$(pick_port)"
        [ "$port" != "$tport" ] || continue
        write_conf "$dir" "$port" "$tport"
        rm -f "$dir/mntns"
        unshare --mount --propagation private sh "$dir/start-in-ns.sh" ||
            die "could not start courier in a private mount namespace (see $dir/imapd.log)"
        deadline=$((SECONDS + 15))
        ok_plain=0
        ok_tls=0
        while [ "$SECONDS" -le "$deadline" ]; do
            [ "$ok_plain" = 1 ] || { port_ready "$port" plain && ok_plain=1; } || true
            [ "$ok_tls" = 1 ] || { port_ready "$tport" tls && ok_tls=1; } || true
            [ "$ok_plain$ok_tls" = 11 ] && break
            sleep 0.1
        done
        if [ "$ok_plain$ok_tls" = 11 ]; then
            started=1
            break
        fi
        cmd_stop "$dir" >/dev/null 2>&1 || true
        if grep -qi 'in use' "$dir/imapd.log"; then
            echo "courier.sh: port collision ($port/$tport), retrying" >&2
            continue
        fi
        echo "--- $dir/imapd.log (tail) ---" >&2
        tail -n 30 "$dir/imapd.log" "$dir/authdaemond.log" >&2 || true
        die "courier did not answer within 15 s (imap:$port ok=$ok_plain, imaps:$tport ok=$ok_tls)"
    done
    [ "$started" = 1 ] || die "could not start on free ports after 5 attempts"

    local apid
    apid="$(running "$dir")" || die "authdaemond is not running"
    cat >"$dir/env" <<EOF
IMAP_PORT=$port
IMAPS_PORT=$tport
CA_FILE=$dir/ca.pem
COURIER_DIR=$dir
COURIER_PID=$apid
EOF
    if [ -n "${COURIER_OWNER_PID:-}" ] && kill -0 "$COURIER_OWNER_PID" 2>/dev/null; then
        # shellcheck disable=SC2016 # expanded by the inner bash
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -e "$3/mntns" ]; do sleep 1; done
            [ -e "$3/mntns" ] && COURIER_NO_WATCHDOG_KILL=1 "$2" stop "$3"
            ' watchdog "$COURIER_OWNER_PID" "$SELF" "$dir" </dev/null >/dev/null 2>&1 &
        echo $! >"$dir/watchdog.pid"
    fi
    cat "$dir/env"
}

cmd_stop() {
    local dir pids p deadline
    dir="$(resolve_dir "${1:-}")"
    if [ -z "${COURIER_NO_WATCHDOG_KILL:-}" ] && [ -r "$dir/watchdog.pid" ]; then
        p="$(cat "$dir/watchdog.pid")"
        if [ -n "$p" ] && grep -q watchdog "/proc/$p/cmdline" 2>/dev/null; then
            kill "$p" 2>/dev/null || true
        fi
        rm -f "$dir/watchdog.pid"
    fi
    pids="$(instance_pids "$dir")"
    if [ -z "$pids" ]; then
        rm -f "$dir/mntns"
        echo "courier.sh: no running instance in $dir" >&2
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
    rm -f "$dir/mntns"
    echo "courier.sh: stopped instance in $dir"
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
    local dir name pw hash home f tmp
    dir="$(resolve_dir "$1")"
    name="$2"
    pw="$3"
    check_user_name "$name"
    case "$pw" in *$'\n'* | *$'\r'*) die "password may not contain line breaks" ;; esac
    load_env "$dir"
    home="$dir/home/$name"
    # A Maildir++ with the folders Dovecot and Cyrus make for every user.
    for f in "" .Drafts .Sent .Trash; do
        mkdir -p "$home/Maildir/$f/cur" "$home/Maildir/$f/new" "$home/Maildir/$f/tmp"
        [ -z "$f" ] || touch "$home/Maildir/$f/maildirfolder"
    done
    printf 'INBOX.Drafts\nINBOX.Sent\nINBOX.Trash\n' >"$home/Maildir/courierimapsubscribed"
    hash="$(printf '%s' "$pw" | openssl passwd -6 -stdin)"
    (
        exec 9>>"$dir/users/.lock"
        flock 9
        tmp="$(mktemp "$dir/etc/.userdb.XXXXXX")"
        grep -v "^$name	" "$dir/etc/userdb" >"$tmp" || true
        printf '%s\tuid=0|gid=0|home=%s|mail=%s/Maildir|systempw=%s\n' "$name" "$home" "$home" "$hash" >>"$tmp"
        chmod 600 "$tmp"
        mv -f "$tmp" "$dir/etc/userdb"
        makeuserdb -f "$dir/etc/userdb"
    )
    (umask 077 && printf '%s' "$pw" >"$dir/users/$name")
    python3 "$SCRIPT_DIR/imap_append.py" courier.sh courier "$IMAP_PORT" "$name" "$pw" ""
}

cmd_add_messages_list() { # DIR USER FOLDER S/U-prefixed paths...
    local dir="$1" user="$2" folder="$3" pw
    shift 3
    load_env "$dir"
    pw="$(user_password "$dir" "$user")"
    python3 "$SCRIPT_DIR/imap_append.py" courier.sh courier "$IMAP_PORT" "$user" "$pw" "$folder" "$@"
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
install) ensure_installed; echo "courier.sh: installed in $CACHE/courier-root" ;;
add-user) cmd_add_user "$@" ;;
add-message) cmd_add_message "$@" ;;
add-messages) cmd_add_messages "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
