#!/usr/bin/env bash
# CI: the system packages the tests need, installed only when missing; never starts a system-wide service.
# - PostgreSQL's server binaries: tests/_postgres.py starts a throw-away server (initdb in a temp dir, pg_ctl
#   on a free local port).
# - Debian's Chromium: the report's PDF (`write_pdf`) and the browser check of the report (Playwright driving
#   /usr/bin/chromium through `executable_path`; no downloaded browser).
# - A Java 17 runtime: pyspark's local mode (tests/test_engines.py).
set -euo pipefail
need=()
if ! command -v initdb >/dev/null 2>&1 && ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    need+=(postgresql)
fi
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)  # Spark (--engine spark) in local mode
if [ ${#need[@]} -eq 0 ]; then
    echo "system-packages.sh: PostgreSQL and Chromium found; nothing to install"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && SUDO="sudo -n" || { echo "system-packages.sh: not root and no sudo; tests needing ${need[*]} will skip" >&2; exit 0; }
fi
export DEBIAN_FRONTEND=noninteractive
if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
else
    echo "system-packages.sh: no apt-get; install ${need[*]} by hand or the tests needing them will skip" >&2
fi
