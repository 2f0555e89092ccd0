"""Pluggable SMS senders. Config ``SMS_SENDER`` names the class (dotted path)."""
from __future__ import annotations

import logging
import re
import threading
from importlib import import_module

log = logging.getLogger("ruxue.sms")


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


# A login code is six digits standing alone (application numbers are longer).
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def without_codes(text: str) -> str:
    return CODE.sub("******", text)


class LogSender:
    """Writes each message to the log, login codes masked: the default until a county plugs in its
    SMS gateway. Production refuses it unless RUXUE_ALLOW_LOG_SMS=1 (config.py)."""

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", mask_phone(phone), without_codes(text))


class MemorySender(LogSender):
    """Keeps what was sent, for development and tests that read the code back."""

    def __init__(self):
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        super().send(phone, text)
        with self._lock:
            self.sent.append((phone, text))

    def last_to(self, phone: str) -> str | None:
        with self._lock:
            return next((text for to, text in reversed(self.sent) if to == phone), None)


def load_sender(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(import_module(module), name)()
