#!/usr/bin/env bash
# Packaging suite: `make install` into a temporary DESTDIR/PREFIX (library with its SONAME
# symlinks, headers, imapmail.pc, CMake package), then builds examples-c/read_inbox.c against
# the installed copy twice, with pkg-config and with CMake find_package(imapmail), runs both
# (usage path without arguments, then against the throwaway Dovecot), checks the static
# library links too, and `make uninstall` removes everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
die() { echo "install.sh: FAIL: $*" >&2; exit 1; }
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

tmp=$(mktemp -d /tmp/iminst.XXXXXX)
trap 'rm -rf "$tmp"; fixture_stop 2>/dev/null || true' EXIT
prefix=/opt/imapmail-test
dest=$tmp/dest
root=$dest$prefix

# GNU make cannot handle file names with spaces, and the clone may live in such a path: make
# runs through a space-free symlink to it (the Makefile finds everything from its own path).
ln -s "$ROOT" "$tmp/repo"
mk() { make -s -f "$tmp/repo/Makefile" "$@"; }
mk build
mk install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
version=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n1)

# Layout and symlinks: .so -> .so.0 -> .so.<version>
[ "$(readlink "$root/lib/libimapmail.so")" = libimapmail.so.0 ] || die "libimapmail.so is not a link to libimapmail.so.0"
[ "$(readlink "$root/lib/libimapmail.so.0")" = "libimapmail.so.$version" ] || die "libimapmail.so.0 is not a link to libimapmail.so.$version"
[ -f "$root/lib/libimapmail.so.$version" ] && [ ! -L "$root/lib/libimapmail.so.$version" ] || die "libimapmail.so.$version missing"
grep -q 'SONAME.*\[libimapmail.so.0\]' <<<"$(readelf -d "$root/lib/libimapmail.so.$version")" || die "wrong SONAME"
for f in include/imapmail.h lib/pkgconfig/imapmail.pc lib/cmake/imapmail/imapmailConfig.cmake \
    lib/cmake/imapmail/imapmailConfigVersion.cmake lib/libimapmail.a share/doc/imapmail/examples-c/read_inbox.c; do
    [ -e "$root/$f" ] || die "$f was not installed"
done
if grep -q '\.debug_info' <<<"$(readelf -S "$root/lib/libimapmail.so.$version")"; then die "installed library keeps debug info"; fi
echo "install.sh: layout ok ($(du -h "$root/lib/libimapmail.so.$version" | cut -f1) library)"

# The installed files carry PREFIX; move the tree to where it says it lives (a relocation
# check for CMake comes below), using a symlink so nothing is written outside $tmp.
# pkg-config: use PKG_CONFIG_SYSROOT_DIR for the DESTDIR staging.
export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
[ "$(pkg-config --modversion imapmail)" = "$version" ] || die "pkg-config --modversion"
mkdir -p "$tmp/pc"
# shellcheck disable=SC2046
cc -O2 -Wall -Wextra -Werror -std=c99 -pedantic $(pkg-config --cflags imapmail) -o "$tmp/pc/read_inbox" \
    examples-c/read_inbox.c $(pkg-config --libs imapmail) -Wl,-rpath,"$root/lib"
grep -q 'NEEDED.*\[libimapmail.so.0\]' <<<"$(readelf -d "$tmp/pc/read_inbox")" || die "the program does not record libimapmail.so.0"
rc=0
"$tmp/pc/read_inbox" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q '^usage: ' "$tmp/out" || { cat "$tmp/out"; die "pkg-config build: usage path (exit $rc)"; }
grep -qF "libimapmail.so.0 => $root/lib/libimapmail.so.0" <<<"$(ldd "$tmp/pc/read_inbox")" || { ldd "$tmp/pc/read_inbox"; die "the program does not load the installed library"; }
echo "install.sh: pkg-config build ok"

# Static: pkg-config --static gives the system libraries libimapmail.a needs.
# shellcheck disable=SC2046
cc -O2 -std=c99 $(pkg-config --cflags imapmail) -o "$tmp/pc/read_inbox_static" examples-c/read_inbox.c \
    "$root/lib/libimapmail.a" $(pkg-config --libs-only-l --static imapmail | sed 's/-limapmail//')
if grep -q 'libimapmail' <<<"$(readelf -d "$tmp/pc/read_inbox_static")"; then die "static build still needs libimapmail.so"; fi
rc=0; "$tmp/pc/read_inbox_static" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || die "static build: usage path (exit $rc)"
echo "install.sh: static build ok"

# CMake: find_package(imapmail) from a relocated copy of the installed tree (the package must
# not depend on PREFIX), with a version request, using the imported target.
cp -a "$root" "$tmp/moved"
mkdir -p "$tmp/cm/src"
cp examples-c/read_inbox.c "$tmp/cm/src/"
cat >"$tmp/cm/src/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(read_inbox_cmake C CXX)
find_package(imapmail 0.1 REQUIRED)
message(STATUS "imapmail ${imapmail_VERSION} headers in ${imapmail_INCLUDE_DIRS}")
add_executable(read_inbox read_inbox.c)
target_compile_options(read_inbox PRIVATE -Wall -Wextra -Werror)
target_link_libraries(read_inbox PRIVATE imapmail::imapmail)
if(EXISTS "${imapmail_INCLUDE_DIRS}/imapmail.hpp")
  file(WRITE "${CMAKE_BINARY_DIR}/hpp_check.cpp" "#include <imapmail.hpp>\nint main() { return imapmail::version().empty() ? 1 : 0; }\n")
  add_executable(hpp_check "${CMAKE_BINARY_DIR}/hpp_check.cpp")
  set_target_properties(hpp_check PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON)
  target_link_libraries(hpp_check PRIVATE imapmail::imapmail)
endif()
CMAKE
cmake -S "$tmp/cm/src" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/moved" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; die "cmake configure"; }
grep -q "imapmail $version headers in $tmp/moved/include" "$tmp/cmake.log" || { cat "$tmp/cmake.log"; die "CMake found another copy"; }
cmake --build "$tmp/cm/build" -j2 >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; die "cmake build"; }
rc=0; "$tmp/cm/build/read_inbox" >"$tmp/out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q '^usage: ' "$tmp/out" || { cat "$tmp/out"; die "CMake build: usage path (exit $rc)"; }
if [ -x "$tmp/cm/build/hpp_check" ]; then "$tmp/cm/build/hpp_check" || die "hpp_check"; fi
# An incompatible version request must be refused.
mkdir -p "$tmp/cm2"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(x C)\nfind_package(imapmail 1.0 QUIET)\nif(imapmail_FOUND)\n  message(FATAL_ERROR "1.0 accepted")\nendif()\n' >"$tmp/cm2/CMakeLists.txt"
cmake -S "$tmp/cm2" -B "$tmp/cm2/build" -DCMAKE_PREFIX_PATH="$tmp/moved" >"$tmp/cmake2.log" 2>&1 || { cat "$tmp/cmake2.log"; die "find_package(imapmail 1.0) was accepted"; }
echo "install.sh: CMake build ok (relocated prefix, version check)"

# Both builds against the real server.
. tests/packaging/fixture.sh
fixture_start >/dev/null
for exe in "$tmp/pc/read_inbox" "$tmp/cm/build/read_inbox" "$tmp/pc/read_inbox_static"; do
    IMAPMAIL_PASSWORD=$FIX_PASS LD_LIBRARY_PATH="$tmp/moved/lib" "$exe" 127.0.0.1 "$IMAPS_PORT" "$FIX_USER" tls INBOX 1 "$CA_FILE" >"$tmp/out" 2>&1 \
        || { cat "$tmp/out"; die "$exe against Dovecot"; }
    grep -q '^2 message(s)$' "$tmp/out" || { cat "$tmp/out"; die "$exe: expected 2 unread messages"; }
done
echo "install.sh: installed builds read the mailbox over TLS"

mk uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
left=$(find "$dest" -type f -o -type l)
[ -z "$left" ] || die "uninstall left: $left"
echo "install.sh: ok"
