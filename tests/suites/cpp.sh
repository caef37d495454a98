#!/usr/bin/env bash
# The header-only C++ wrapper (include/imapmail.hpp): tests/cpp/wrapper_test.cpp built with
# g++ -std=c++17 -Wall -Wextra -Werror (and -Wpedantic -Wshadow -Wconversion), run against
# the throwaway Dovecot.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v g++ >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null; apt-get install -y -qq g++ >/dev/null; }
target=$(readlink -f "${CARGO_TARGET_DIR:-target}")
cargo build --release --lib --quiet
tmp=$(mktemp -d /tmp/imcpp.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT
g++ -std=c++17 -O1 -g -Wall -Wextra -Werror -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Iinclude \
    -o "$tmp/wrapper_test" tests/cpp/wrapper_test.cpp -L"$target/release" -Wl,-rpath,"$target/release" -limapmail -pthread
# The header also compiles as C++20 and without exceptions-related warnings in other compilers' modes.
g++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -Iinclude -x c++ - <<<'#include "imapmail.hpp"
int main() { return imapmail::version().empty(); }'
# shellcheck source=tests/packaging/fixture.sh
. tests/packaging/fixture.sh
fixture_start >/dev/null
"$tmp/wrapper_test"
