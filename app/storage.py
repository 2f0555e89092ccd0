"""Document storage: a local folder (default) or any S3-compatible store, behind one interface."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.errors import UserError

# File kinds recognised from their first bytes, never from the name a browser sends.
SIGNATURES = (
    (b"\xff\xd8\xff", "jpeg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
)
KEY = re.compile(r"[0-9a-f]{32}")
_NOT_IN_NAMES = set('/\\<>:"|?*\x7f')
# What a whole file of each kind must contain; a bare signature in front of anything else is refused.
COMPLETE = {
    "png": lambda data: data[12:16] == b"IHDR" and b"IEND" in data[-64:],
    "jpeg": lambda data: b"\xff\xd9" in data,  # the end marker (phones may append data after it)
    "pdf": lambda data: b"%%EOF" in data[-2048:],
}
# A scan or a photo carries no web page; a file that does is a trap for whoever opens it.
ACTIVE_CONTENT = re.compile(rb"<\s*(?:script|html|svg|iframe|object|embed)\b|javascript:|/JavaScript\b", re.IGNORECASE)


class UploadError(UserError):
    """A rule refused the input; ``message`` says why."""


@dataclass(frozen=True)
class Checked:
    kind: str
    content_type: str
    size: int
    sha256: str
    file_name: str


def sniff(data: bytes) -> tuple[str, str] | None:
    for magic, kind, content_type in SIGNATURES:
        if data.startswith(magic):
            return kind, content_type
    return None


def check_upload(file_name: str, data: bytes, accepted_kinds: str, max_size_kb: int) -> Checked:
    """Refuse an empty file, a name with a path, a kind the material does not accept, or one over its cap."""
    name = (file_name or "").strip()
    if not name or name.startswith(".") or ".." in name or any(c in _NOT_IN_NAMES or ord(c) < 32 for c in name):
        raise UploadError(_l("The file name must be a plain name without folders."))
    if not data:
        raise UploadError(_l("The file is empty."))
    if len(data) > max_size_kb * 1024:
        raise UploadError(_l("The file is larger than %(n)d KB.", n=max_size_kb))
    found = sniff(data)
    accepted = {k.strip().lower() for k in accepted_kinds.split(",") if k.strip()}
    if found is None or found[0] not in accepted:
        raise UploadError(_l("Only these file kinds are accepted: %(kinds)s.", kinds=", ".join(sorted(accepted)).upper()))
    if not COMPLETE[found[0]](data):
        raise UploadError(_l("The file is incomplete or damaged; scan or photograph it again."))
    if ACTIVE_CONTENT.search(data):
        raise UploadError(_l("The file contains web page code; upload a scan or a photo of the document."))
    return Checked(found[0], found[1], len(data), hashlib.sha256(data).hexdigest(), name[:255])


class StorageUnavailable(Exception):
    """The file store did not answer (S3 down or too slow, a full or unmounted disk): the request
    ends in the busy page and nothing is recorded (app/views/errors.py)."""


class StoredFileMissing(LookupError):
    """A row names a file the store does not have."""


def s3_error(error: Exception, key: str | None = None) -> Exception:
    """What a boto3 failure means here: a missing object, or a store that is not answering
    (refused, timed out, throttled, an error of its own)."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "ClientError")
        return StoredFileMissing(key or code) if code in ("NoSuchKey", "404") else StorageUnavailable(code)
    return StorageUnavailable(type(error).__name__)


def forget(storage, key: str) -> None:
    """Delete a file no row names any more. With the store down it is left behind, logged by its
    key only: what the family and the staff see is the row, and the row is already gone."""
    try:
        storage.delete(key)
    except StorageUnavailable as error:
        logging.getLogger("ruxue.storage").warning("file %s not deleted, the store is unavailable (%s)", key, error)


def new_key() -> str:
    return secrets.token_hex(16)


class LocalStorage:
    """Files in a folder, named by random keys; served only through a checked route."""

    presigns = False

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not KEY.fullmatch(key):
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    def save(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        except OSError as error:
            path.unlink(missing_ok=True)  # no half-written file under a key
            raise StorageUnavailable(type(error).__name__) from error

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as error:
            raise StoredFileMissing(key) from error
        except OSError as error:
            raise StorageUnavailable(type(error).__name__) from error

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as error:
            raise StorageUnavailable(type(error).__name__) from error

    def exists(self, key: str) -> bool:
        return self._path(key).exists()


class S3Storage:
    """Objects in one bucket of an S3-compatible store; staff get short-lived presigned URLs."""

    presigns = True

    def __init__(self, bucket: str, endpoint_url: str | None, region: str, access_key: str | None, secret_key: str | None,
                 connect_timeout: float = 3, read_timeout: float = 20):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        # boto3's defaults (60 s to connect, up to 5 tries) would hold every worker for minutes
        # when the store is down; a parent gets the busy page within seconds instead
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(connect_timeout=connect_timeout, read_timeout=read_timeout,
                          retries={"max_attempts": 2, "mode": "standard"}),
        )

    def _call(self, operation, **params):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(Bucket=self.bucket, **params)
        except (BotoCoreError, ClientError) as error:
            raise s3_error(error, params.get("Key")) from error

    def save(self, key: str, data: bytes, content_type: str) -> None:
        self._call(self.client.put_object, Key=key, Body=data, ContentType=content_type)

    def read(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError

        body = self._call(self.client.get_object, Key=key)["Body"]
        try:
            return body.read()
        except BotoCoreError as error:  # the answer broke off
            raise s3_error(error, key) from error

    def delete(self, key: str) -> None:
        self._call(self.client.delete_object, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self._call(self.client.head_object, Key=key)
            return True
        except StoredFileMissing:
            return False

    def presigned_url(self, key: str, seconds: int = 60) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": "inline"},
            ExpiresIn=seconds,
        )


def from_config(config) -> LocalStorage | S3Storage:
    if config.get("STORAGE_BACKEND", "local") == "s3":
        return S3Storage(
            config["S3_BUCKET"],
            config.get("S3_ENDPOINT_URL"),
            config.get("S3_REGION", "us-east-1"),
            config.get("S3_ACCESS_KEY_ID"),
            config.get("S3_SECRET_ACCESS_KEY"),
            float(config.get("S3_CONNECT_TIMEOUT", 3)),
            float(config.get("S3_READ_TIMEOUT", 20)),
        )
    return LocalStorage(config["STORAGE_LOCAL_DIR"])
