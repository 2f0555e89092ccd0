"""Backup and restore of a county: the database, the uploads (local storage) and the secret key.

A backup is a folder: ``database.sqlite3`` or ``database.pgdump`` (pg_dump's custom format),
``uploads.tar.gz`` when files are stored locally (S3 keeps its own copies: versioning or
replication on the bucket), ``secret_key`` (mode 600) and ``manifest.json`` saying what is in it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.errors import UserError
from app.models import Application, Attachment


class BackupError(UserError):
    """A backup or restore could not be done; ``message`` says why and nothing was changed."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    revision: str
    dialect: str
    applications: int
    attachments: int
    uploads: str  # "local" (in uploads.tar.gz) or "s3:<bucket>" (kept by the store)

    def write(self, folder: Path) -> None:
        (folder / "manifest.json").write_text(json.dumps(self.__dict__, ensure_ascii=False, indent=1))

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        try:
            return cls(**json.loads((folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            raise BackupError(f"{folder} is not a Ruxue backup (no readable manifest.json)") from None


def libpq_url(sqlalchemy_url: str) -> tuple[str, str | None]:
    """The URL pg_dump and pg_restore understand, and the schema named by its search_path (the
    test suite works in a schema of its own; a county's database uses the default)."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    plain = url.render_as_string(hide_password=False)
    options = parse_qs(urlsplit(plain).query).get("options", [""])[0]
    schema = None
    for part in unquote(options).split():
        if part.startswith("-csearch_path="):
            schema = part.split("=", 1)[1]
    return plain, schema


def _run(command: list[str], what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client)") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"{what} failed: {last}")


def create(session: Session, config: dict, into: Path, revision: str, progress=None) -> Path:
    """Write a new backup folder under ``into`` and return it."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = into / f"ruxue-backup-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    os.chmod(folder, 0o700)
    url = config["SQLALCHEMY_DATABASE_URI"]
    dialect = session.get_bind().dialect.name
    counts = (session.scalar(select(func.count()).select_from(Application)),
              session.scalar(select(func.count()).select_from(Attachment)))
    session.rollback()
    if dialect == "sqlite":
        source = make_url(url).database
        with sqlite3.connect(source) as src, sqlite3.connect(folder / "database.sqlite3") as dst:
            src.backup(dst)  # a consistent copy even while the app writes
    elif dialect == "postgresql":
        plain, schema = libpq_url(url)
        command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={folder / 'database.pgdump'}"]
        command += [f"--schema={schema}"] if schema else []
        _run(command + [f"--dbname={plain}"], "pg_dump")
    else:
        raise BackupError(f"no backup for a {dialect} database")
    uploads = "local"
    if config["STORAGE_BACKEND"] == "local":
        root = Path(config["STORAGE_LOCAL_DIR"])
        files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
        with tarfile.open(folder / "uploads.tar.gz", "w:gz") as tar:
            for path in files:
                tar.add(path, arcname=str(path.relative_to(root)))
                if progress:
                    progress(1)
    else:
        uploads = f"s3:{config['S3_BUCKET']}"
    key = (config.get("SECRET_KEY") or "").strip()
    (folder / "secret_key").write_text(key)
    os.chmod(folder / "secret_key", 0o600)
    Manifest(dt.datetime.now().isoformat(timespec="seconds"), revision, dialect, counts[0], counts[1], uploads).write(folder)
    return folder


def restore(session: Session, config: dict, folder: Path, progress=None) -> Manifest:
    """Put a backup back: the database (replacing what is there), then the local uploads."""
    manifest = Manifest.read(folder)
    dialect = session.get_bind().dialect.name
    if manifest.dialect != dialect:
        raise BackupError(f"this backup is of a {manifest.dialect} database; the configured one is {dialect}")
    url = config["SQLALCHEMY_DATABASE_URI"]
    engine = session.get_bind()
    session.close()
    engine.dispose()
    if dialect == "sqlite":
        target = make_url(url).database
        with sqlite3.connect(folder / "database.sqlite3") as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    else:
        plain, schema = libpq_url(url)
        if schema:  # the dump recreates the schema itself
            with engine.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.commit()
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
              f"--dbname={plain}", str(folder / "database.pgdump")], "pg_restore")
    if manifest.uploads == "local" and (folder / "uploads.tar.gz").exists():
        root = Path(config["STORAGE_LOCAL_DIR"])
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(folder / "uploads.tar.gz", "r:gz") as tar:
            for member in tar.getmembers():
                tar.extract(member, root, filter="data")  # never a path outside the folder
                if progress:
                    progress(1)
    return manifest


def restored_key(folder: Path, instance_dir: Path) -> bool:
    """Put the backup's secret key where a development install reads it; production sets
    SECRET_KEY in its environment file instead (the caller says so)."""
    key = (folder / "secret_key").read_text().strip() if (folder / "secret_key").exists() else ""
    if not key:
        return False
    instance_dir.mkdir(parents=True, exist_ok=True)
    target = instance_dir / "secret_key"
    target.write_text(key)
    os.chmod(target, 0o600)
    return True


def upload_count(folder: Path) -> int:
    path = folder / "uploads.tar.gz"
    if not path.exists():
        return 0
    with tarfile.open(path, "r:gz") as tar:
        return sum(1 for m in tar.getmembers() if m.isfile())

