# Shared by the scripts of the servers that run as their own users (courier.sh, cyrus.sh):
# sourced after they define CACHE and die().

# The cache directory: made mode 0755 where missing, and refused (with what it needs) when the
# unprivileged server user cannot reach it or its path would break the generated files.
prepare_cache() {
    local p part
    case "$CACHE" in
    /*) ;;
    *) die "IMAPMAIL_CACHE '$CACHE' must be an absolute path" ;;
    esac
    case "$CACHE" in
    *[!A-Za-z0-9._/+-]*) die "IMAPMAIL_CACHE '$CACHE' may only contain A-Z a-z 0-9 . _ / + -" ;;
    esac
    # From the top down, so that the first private directory is the one named.
    p=""
    while IFS= read -r part; do
        [ -n "$part" ] || continue
        p="$p/$part"
        if [ ! -d "$p" ]; then
            (umask 022 && mkdir "$p") || die "cannot create $p"
        fi
        if ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups test -x "$p" 2>/dev/null; then
            die "$p is not searchable by others (tested as 'nobody'), so the server's own user" \
                "cannot reach the unpacked server in $CACHE: every directory above it must be" \
                "searchable by others (not under root's home or a mode-0700 directory); set" \
                "IMAPMAIL_CACHE to such a place"
        fi
    done < <(tr '/' '\n' <<<"$CACHE")
}
