#!/usr/bin/env bash
# CI: make PostgreSQL's server binaries available for the tests, which start their own throw-away
# server (tests/_postgres.py: initdb in a temp dir, pg_ctl on a free local port). Installs the system
# package only when no initdb is found; never starts a system-wide service.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "postgres.sh: initdb found; nothing to install"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO="sudo -n" || { echo "postgres.sh: not root and no sudo; the PostgreSQL tests will skip" >&2; exit 0; }
fi
export DEBIAN_FRONTEND=noninteractive
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends postgresql
else
    echo "postgres.sh: no apt-get; install PostgreSQL by hand or the PostgreSQL tests will skip" >&2
fi
