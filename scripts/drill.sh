#!/usr/bin/env bash
# Runs the drill against a valkey-server it starts on 127.0.0.1, installing
# the server first when it is missing. Drill options pass through.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

VALKEY_SERVER_BIN="$(bash scripts/install-valkey.sh)"
export VALKEY_SERVER_BIN
cargo run --release --locked -p fault-tests --bin drill -- "$@"
