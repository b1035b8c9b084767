#!/usr/bin/env bash
# Installs uv (from PyPI), creates .venv and installs the pinned dependencies and the
# workspace packages. Safe to run again: does nothing when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.8
if ! command -v uv >/dev/null 2>&1 || [[ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]]; then
  echo "• installing uv $UV_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "• creating .venv"
  uv venv --quiet --python python3 .venv
fi
stamp=.venv/.comptoir-installed
want="$(cat requirements.txt libs/common/pyproject.toml ops/pyproject.toml services/*/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  echo "• installing Python packages"
  uv pip install --quiet -p .venv -r requirements.txt
  uv pip install --quiet -p .venv --no-deps \
    -e libs/common -e ops -e services/catalog -e services/booking -e services/payments -e services/notifications -e services/web
  echo "$want" > $stamp
fi
