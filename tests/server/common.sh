# Shared by the server scripts (cyrus.sh, courier.sh, imap4d.sh; dovecot.sh takes only
# make_test_certs): sourced after they define die() (and CACHE, CA where used).

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

# A free loopback port.
pick_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Whether the server on PORT greets (MODE plain or tls, checked against $CA).
port_ready() {
    python3 - "$1" "${2:-plain}" "$CA" <<'PY' 2>/dev/null
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

# A throwaway CA and a server certificate for 127.0.0.1 and localhost in DIR (ca.pem, ca.key,
# server.pem, server.key), checked; each server script then sets the permissions it needs.
make_test_certs() {
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
    openssl verify -CAfile "$dir/ca.pem" "$dir/server.pem" >/dev/null ||
        die "generated server certificate does not verify against the test CA"
}
