"""Entry point: `flask --app run …`, `gunicorn run:app` or `python run.py`."""
import os
import sys

from app import create_app
from config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # one line a county's IT can act on, not a traceback
    print(f"ruxue: {error}", file=sys.stderr)
    sys.exit(1)

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
