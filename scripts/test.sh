#!/usr/bin/env bash
# The project's test command: installs the servers the tests need, then runs
# every test in the workspace.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

VALKEY_SERVER_BIN="$(bash scripts/install-valkey.sh)"
export VALKEY_SERVER_BIN
bash scripts/install-redis-tls.sh
REDIS_TLS_SERVER_BIN="$(command -v redis-server)"
export REDIS_TLS_SERVER_BIN

# Unit, integration and doc tests of every crate. Benchmarks are left out:
# run as tests they would measure for minutes, and clippy in .ci/run
# already compiles them.
cargo test --workspace --all-features --locked "$@"
