#!/usr/bin/env bash
# The Python binding (bindings/python, ctypes) against the throwaway Dovecot: stdlib unittest.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --lib --quiet
export IMAPMAIL_LIBRARY
IMAPMAIL_LIBRARY=$(readlink -f "$target/release/libimapmail.so")
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
python3 -m unittest discover -s bindings/python/tests -v 2>&1
