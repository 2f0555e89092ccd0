#!/usr/bin/env bash
# Set up and run the whole test suite: ./scripts/test.sh [pytest args]
# SQLite by default; TEST_DATABASE_URL=postgresql://… runs it against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements-dev.txt
# Debian packages the suite drives: Chromium for the browser tests (Playwright's own browser
# download does not work here); nginx and redis-server for tests/test_two_nodes.py, which starts
# its own of each on free loopback ports (no system service of either is needed).
packages=()
[ -x /usr/bin/chromium ] || packages+=(chromium fonts-noto-cjk)
[ -x /usr/sbin/nginx ] || packages+=(nginx)
[ -x /usr/bin/redis-server ] || packages+=(redis-server)
if [ ${#packages[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  # a package that started its service (a systemd machine): stop it, nothing here uses it
  if [ -d /run/systemd/system ]; then
    for service in nginx redis-server; do
      if [[ " ${packages[*]} " == *" $service "* ]]; then
        $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
      fi
    done
  fi
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
