"""Write examples/registry/<county>/*.csv: synthetic department extracts fitting each county's
demo (the start script's 300 applications, periods open today), with deliberate mismatches.

    .venv/bin/python scripts/make_registry_examples.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTIES = ("shimen", "taojiang", "dengfeng", "anyi")


def main() -> None:
    for county in COUNTIES:
        with tempfile.TemporaryDirectory() as folder:
            env = {**os.environ, "RUXUE_ENV": "development", "RUXUE_INSTANCE_DIR": folder}
            flask = [str(ROOT / ".venv/bin/flask"), "--app", "run"]
            subprocess.run(flask + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
            subprocess.run(flask + ["demo", county, "--applications", "300", "--open-now", "--password", "x-123456"],
                           env=env, cwd=ROOT, check=True, capture_output=True)
            code = ("from run import app\nfrom app.extensions import db\nfrom app.services import demo_registry\n"
                    "import sys\nout = demo_registry.EXAMPLES / sys.argv[1]\nout.mkdir(parents=True, exist_ok=True)\n"
                    "with app.app_context():\n"
                    "    for source, rows in demo_registry.build(db.session, 2026).items():\n"
                    "        (out / f'{source}-2026.csv').write_bytes(demo_registry.to_csv(source, rows))\n"
                    "        print(sys.argv[1], source, len(rows))\n")
            subprocess.run([sys.executable, "-c", code, county], env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
