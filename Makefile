# imapmail: build, install and cross-build.
#
#   make                                   release build of the Rust library (cargo)
#   make install PREFIX=/usr/local DESTDIR=  installs library (+ .so.0 / .so symlinks), headers,
#                                          imapmail.pc, CMake package and docs
#   make uninstall PREFIX=... DESTDIR=...  removes what install put there
#   make windows                           Windows x64 DLL, import libraries and .def (mingw)
#   make windows32                         Windows x86 DLL (cdecl) + imapmail_stdcall.dll for
#                                          hosts that call with stdcall (WINDEV 32-bit)
#   make package                           archives under dist/ (scripts/package)
#
# Variables: PREFIX (/usr/local), LIBDIR ($(PREFIX)/lib), INCLUDEDIR ($(PREFIX)/include),
# DATADIR ($(PREFIX)/share), DESTDIR, CARGO (cargo), CARGO_TARGET_DIR (target),
# INSTALL_STRIP (1: strip debug info from the installed library), INSTALL_STATIC (1: also
# install libimapmail.a).

CARGO            ?= cargo
PREFIX           ?= /usr/local
LIBDIR           ?= $(PREFIX)/lib
INCLUDEDIR       ?= $(PREFIX)/include
DATADIR          ?= $(PREFIX)/share
DESTDIR          ?=
INSTALL          ?= install
STRIP            ?= strip
INSTALL_STRIP    ?= 1
INSTALL_STATIC   ?= 1

# The ABI major version; must equal SOVERSION in build.rs (scripts/abi-check verifies it).
SOVERSION        := 0
VERSION          := $(shell sed -n 's/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml | head -n1)
VERSION_MAJOR    := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR    := $(word 2,$(subst ., ,$(VERSION)))
# Link flags of the static library (from `cargo rustc -- --print native-static-libs`).
STATIC_LIBS      := -lssl -lcrypto -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

HERE             := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
TARGET_DIR       := $(abspath $(if $(CARGO_TARGET_DIR),$(CARGO_TARGET_DIR),$(HERE)/target))
RELEASE          := $(TARGET_DIR)/release
LIBDIR_REL       := $(patsubst $(PREFIX)/%,%,$(LIBDIR))
INCLUDEDIR_REL   := $(patsubst $(PREFIX)/%,%,$(INCLUDEDIR))
# From <LIBDIR>/cmake/imapmail back up to PREFIX.
PREFIX_FROM_CMAKEDIR := $(subst $(eval) ,/,$(foreach c,$(subst /, ,$(LIBDIR_REL)) cmake imapmail,..))

WIN64            := x86_64-pc-windows-gnu
WIN32            := i686-pc-windows-gnu
WIN64_OUT        := $(TARGET_DIR)/windows-x86_64
WIN32_OUT        := $(TARGET_DIR)/windows-x86

.PHONY: all build install uninstall windows windows32 package abi-check clean-dist check-paths

all: build

build:
	$(CARGO) build --release --lib --manifest-path $(HERE)/Cargo.toml

check-paths:
	@case "$(LIBDIR)" in "$(PREFIX)"/*) ;; *) echo "LIBDIR ($(LIBDIR)) must be below PREFIX ($(PREFIX))" >&2; exit 1;; esac
	@case "$(INCLUDEDIR)" in "$(PREFIX)"/*) ;; *) echo "INCLUDEDIR ($(INCLUDEDIR)) must be below PREFIX ($(PREFIX))" >&2; exit 1;; esac
	@test -e "$(RELEASE)/libimapmail.so" || { echo "$(RELEASE)/libimapmail.so is missing: run 'make' first" >&2; exit 1; }

SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	-e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' \
	-e 's|@SOVERSION@|$(SOVERSION)|g' -e 's|@LIBDIR_REL@|$(LIBDIR_REL)|g' \
	-e 's|@INCLUDEDIR_REL@|$(INCLUDEDIR_REL)|g' -e 's|@PREFIX_FROM_CMAKEDIR@|$(PREFIX_FROM_CMAKEDIR)|g' \
	-e 's|@STATIC_LIBS@|$(STATIC_LIBS)|g' -e 's|@STATIC_LIBS_CMAKE@|$(subst $(eval) ,;,$(STATIC_LIBS))|g' \
	-e 's|@SIZEOF_VOID_P@|8|g'

install: check-paths
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(LIBDIR)/cmake/imapmail \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(DATADIR)/doc/imapmail/examples-c
	$(INSTALL) -m 0755 $(RELEASE)/libimapmail.so $(DESTDIR)$(LIBDIR)/libimapmail.so.$(VERSION)
	@if [ "$(INSTALL_STRIP)" = 1 ]; then echo "$(STRIP) --strip-debug libimapmail.so.$(VERSION)"; \
		$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/libimapmail.so.$(VERSION); fi
	ln -sfn libimapmail.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libimapmail.so.$(SOVERSION)
	ln -sfn libimapmail.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libimapmail.so
	@if [ "$(INSTALL_STATIC)" = 1 ] && [ -e $(RELEASE)/libimapmail.a ]; then \
		echo "$(INSTALL) -m 0644 libimapmail.a"; \
		$(INSTALL) -m 0644 $(RELEASE)/libimapmail.a $(DESTDIR)$(LIBDIR)/libimapmail.a; \
		if [ "$(INSTALL_STRIP)" = 1 ]; then $(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/libimapmail.a; fi; fi
	$(INSTALL) -m 0644 $(HERE)/include/imapmail.h $(DESTDIR)$(INCLUDEDIR)/imapmail.h
	@if [ -e $(HERE)/include/imapmail.hpp ]; then echo "$(INSTALL) -m 0644 imapmail.hpp"; \
		$(INSTALL) -m 0644 $(HERE)/include/imapmail.hpp $(DESTDIR)$(INCLUDEDIR)/imapmail.hpp; fi
	$(SUBST) $(HERE)/packaging/imapmail.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/imapmail.pc
	$(SUBST) $(HERE)/packaging/cmake/imapmailConfig.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/imapmail/imapmailConfig.cmake
	$(SUBST) $(HERE)/packaging/cmake/imapmailConfigVersion.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/imapmail/imapmailConfigVersion.cmake
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/imapmail.pc $(DESTDIR)$(LIBDIR)/cmake/imapmail/*.cmake
	@for f in $(wildcard $(HERE)/docs/*.md) $(wildcard $(HERE)/README.md); do \
		$(INSTALL) -m 0644 $$f $(DESTDIR)$(DATADIR)/doc/imapmail/; done
	@for f in $(wildcard $(HERE)/examples-c/*.c) $(wildcard $(HERE)/examples-c/Makefile); do \
		$(INSTALL) -m 0644 $$f $(DESTDIR)$(DATADIR)/doc/imapmail/examples-c/; done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libimapmail.so $(DESTDIR)$(LIBDIR)/libimapmail.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libimapmail.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libimapmail.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/imapmail.pc $(DESTDIR)$(INCLUDEDIR)/imapmail.h \
		$(DESTDIR)$(INCLUDEDIR)/imapmail.hpp
	rm -rf $(DESTDIR)$(LIBDIR)/cmake/imapmail $(DESTDIR)$(DATADIR)/doc/imapmail

# ---- Windows (cross-built with mingw-w64) -------------------------------------------------

windows: export CARGO_PROFILE_RELEASE_DEBUG = 0
windows:
	$(CARGO) build --release --lib --target $(WIN64) --manifest-path $(HERE)/Cargo.toml
	rm -rf $(WIN64_OUT) && mkdir -p $(WIN64_OUT)
	x86_64-w64-mingw32-strip --strip-debug -o $(WIN64_OUT)/imapmail.dll $(TARGET_DIR)/$(WIN64)/release/imapmail.dll
	$(HERE)/scripts/windows-def $(WIN64_OUT)/imapmail.dll x86_64-w64-mingw32-objdump > $(WIN64_OUT)/imapmail.def
	cp $(TARGET_DIR)/$(WIN64)/release/libimapmail.dll.a $(WIN64_OUT)/libimapmail.dll.a
	x86_64-w64-mingw32-dlltool -m i386:x86-64 -d $(WIN64_OUT)/imapmail.def -D imapmail.dll -l $(WIN64_OUT)/imapmail.lib

windows32: export CARGO_PROFILE_RELEASE_DEBUG = 0
windows32:
	$(CARGO) build --release --lib --target $(WIN32) --manifest-path $(HERE)/Cargo.toml
	rm -rf $(WIN32_OUT) && mkdir -p $(WIN32_OUT)
	i686-w64-mingw32-strip --strip-debug -o $(WIN32_OUT)/imapmail.dll $(TARGET_DIR)/$(WIN32)/release/imapmail.dll
	$(HERE)/scripts/windows-def $(WIN32_OUT)/imapmail.dll i686-w64-mingw32-objdump > $(WIN32_OUT)/imapmail.def
	cp $(TARGET_DIR)/$(WIN32)/release/libimapmail.dll.a $(WIN32_OUT)/libimapmail.dll.a
	i686-w64-mingw32-dlltool -m i386 -d $(WIN32_OUT)/imapmail.def -D imapmail.dll -l $(WIN32_OUT)/imapmail.lib
	python3 $(HERE)/scripts/gen-stdcall $(HERE)/include/imapmail.h $(WIN32_OUT)
	i686-w64-mingw32-gcc -O2 -Wall -Wextra -Werror -shared -I$(HERE)/include \
		-o $(WIN32_OUT)/imapmail_stdcall.dll $(WIN32_OUT)/imapmail_stdcall.c $(WIN32_OUT)/imapmail_stdcall.def \
		-L$(WIN32_OUT) -limapmail -Wl,--out-implib,$(WIN32_OUT)/libimapmail_stdcall.dll.a \
		-static-libgcc
	i686-w64-mingw32-strip --strip-unneeded $(WIN32_OUT)/imapmail_stdcall.dll

package:
	$(HERE)/scripts/package

abi-check:
	$(HERE)/scripts/abi-check

clean-dist:
	rm -rf $(HERE)/dist
