#!/usr/bin/env bash
# The C suite: the C API contract under valgrind and sanitizers, and the C examples.
exec bash "$(dirname "$0")/../c/run.sh"
