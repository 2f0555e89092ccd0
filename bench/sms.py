"""An SMS sender for load tests: each message becomes a file the harness can read.

Set ``SMS_SENDER=bench.sms.FileSender`` and ``BENCH_SMS_DIR=/some/dir``; the newest text sent to
a phone is in ``<dir>/<phone>.txt``. The file is written under a temporary name and renamed, so a
reader never sees half a message even with several workers writing at once.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


class FileSender:
    def __init__(self):
        self.root = Path(os.environ.get("BENCH_SMS_DIR") or Path(tempfile.gettempdir()) / "ruxue-sms")
        self.root.mkdir(parents=True, exist_ok=True)

    def send(self, phone: str, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".sms-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.root / f"{phone}.txt")

    def last_to(self, phone: str) -> str | None:
        try:
            return (self.root / f"{phone}.txt").read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
