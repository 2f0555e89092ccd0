"""Entry point: `flask --app run …`, `gunicorn run:app` or `python run.py`."""
import os
import sys

from app import create_app

try:
    app = create_app()  # config.py is read here: a wrong number fails as the class is built
except RuntimeError as error:
    if type(error).__name__ != "ConfigError":
        raise
    # one line a county's IT can act on, not a traceback
    print(f"ruxue: {error}", file=sys.stderr)
    sys.exit(1)

if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
