#!/usr/bin/env bash
# Set up and run the whole test suite: ./scripts/test.sh [pytest args]
# SQLite by default; TEST_DATABASE_URL=postgresql://… runs it against PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements-dev.txt
if [ ! -x /usr/bin/chromium ]; then
  # Browser tests drive Debian's Chromium; Playwright's own browser download does not work here.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
