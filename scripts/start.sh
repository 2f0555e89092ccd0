#!/usr/bin/env bash
# Set up and start Ruxue with the Shimen demo on SQLite: ./scripts/start.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-venv.sh requirements.txt
export RUXUE_ENV="${RUXUE_ENV:-development}"
# everything of this county (database, secret key, uploads, demo passwords) lives in one folder
instance="${RUXUE_INSTANCE_DIR:-instance}"
export RUXUE_INSTANCE_DIR="$instance"
mkdir -p "$instance"
flask=".venv/bin/flask --app run"
$flask db upgrade
credentials="$instance/demo-credentials.txt"
if [ ! -s "$credentials" ]; then
  $flask demo "${RUXUE_DEMO_COUNTY:-shimen}" --open-now --applications "${RUXUE_DEMO_APPLICATIONS:-300}" > "$credentials"
  chmod 600 "$credentials"
fi
host="${HOST:-127.0.0.1}"
port="${PORT:-5000}"
echo
echo "Ruxue is starting."
echo "  Parents: http://$host:$port/   (any mobile number; in development the login code is shown on the page)"
echo "  Staff:   http://$host:$port/login/"
echo "Demo staff accounts (user, role, password), also in $credentials:"
sed -n '2,$p' "$credentials"
echo
# conflict flags and seat forecasts, and the parents' SMS, run beside the web server
$flask worker &
worker=$!
$flask send-messages > /dev/null &
sender=$!
trap 'kill $worker $sender 2>/dev/null || true' EXIT INT TERM
$flask run --host "$host" --port "$port"
