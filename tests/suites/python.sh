#!/usr/bin/env bash
# The Python package (bindings/python): `pip install ./bindings/python` into a fresh virtual
# environment, then the package's pytest tests (bindings/python/tests) in it, against the
# throwaway Dovecot of tests/packaging/fixture.sh; mypy --strict on the installed package.
# pytest and mypy come from PyPI into that venv.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --lib --quiet
export IMAPMAIL_LIBRARY
IMAPMAIL_LIBRARY=$(readlink -f "$target/release/libimapmail.so")

py=${PYTHON:-python3}
if ! "$py" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "python: installing python3-venv with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends python3-venv >&2
fi

# Network steps (pip from PyPI) are retried: a transient failure must not fail the suite.
retry() {
    local n
    for n in 1 2 3; do
        "$@" && return 0
        echo "python: attempt $n of: $* failed" >&2
        sleep $((n * 5))
    done
    return 1
}

work=$(mktemp -d /tmp/impy-suite.XXXXXX)
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
trap 'fixture_stop; rm -rf "$work"' EXIT

"$py" -m venv "$work/venv"
vpy="$work/venv/bin/python"
# A build directory left by an earlier install could carry files the source no longer has.
rm -rf bindings/python/build bindings/python/imapmail.egg-info
retry "$vpy" -m pip install --quiet --disable-pip-version-check ./bindings/python
rm -rf bindings/python/build bindings/python/imapmail.egg-info
retry "$vpy" -m pip install --quiet --disable-pip-version-check pytest

# The tests must exercise the installed package, not the source tree.
installed=$(cd "$work" && "$vpy" -c 'import imapmail, os; print(os.path.dirname(imapmail.__file__))')
case "$installed" in
"$work"/venv/*) echo "python: testing the installed package in $installed" ;;
*)
    echo "python: imapmail imported from $installed, not from the venv" >&2
    exit 1
    ;;
esac
[ -f "$installed/py.typed" ] || {
    echo "python: the installed package lacks py.typed" >&2
    exit 1
}

# A copy of the library placed in the package before `pip install` is installed with it and
# found without IMAPMAIL_LIBRARY (checked on a copy of the sources, installed with --target).
cp -r bindings/python "$work/src"
rm -rf "$work/src/build" "$work/src/imapmail.egg-info"
cp "$IMAPMAIL_LIBRARY" "$work/src/imapmail/libimapmail.so.0"
retry "$vpy" -m pip install --quiet --disable-pip-version-check --no-deps --target "$work/bundled" "$work/src"
found=$(cd "$work" && env -u IMAPMAIL_LIBRARY PYTHONPATH="$work/bundled" "$vpy" -c 'import imapmail; print(imapmail.library_path())')
if [ "$found" != "$work/bundled/imapmail/libimapmail.so.0" ]; then
    echo "python: the bundled library was not installed or not found (loaded: $found)" >&2
    exit 1
fi
echo "python: a library bundled at install time is found: $found"

# The type hints: the installed package (found through its py.typed) passes mypy --strict.
retry "$vpy" -m pip install --quiet --disable-pip-version-check mypy
(cd "$work" && "$vpy" -m mypy --strict --no-incremental -p imapmail)

fixture_start >/dev/null
"$work/venv/bin/pytest" -v -p no:cacheprovider bindings/python/tests 2>&1
