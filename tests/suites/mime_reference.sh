#!/usr/bin/env bash
# Differential test of the MIME decoding: every message of the reference corpus (see
# tests/reference/README.md) read through the C accessors, field by field against Python's
# email package (policy=email.policy.default). Prints the agreement per field; fails under
# the floor or on any disagreement not listed with its reason in tests/reference/disagreements.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="$HOME/.cargo/bin:$PATH"
target=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example mime_reference_dump
python3 tests/reference/compare.py "$target/release/examples/mime_reference_dump"
