#!/usr/bin/env bash
# The production command: gunicorn behind a reverse proxy (see deploy/ and the README).
#   set -a; . /etc/ruxue/ruxue.env; set +a; ./scripts/serve.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements.txt
exec .venv/bin/gunicorn -c deploy/gunicorn.conf.py run:app
