"""Processes and databases for bench/opening_day.py: PostgreSQL set-up, Flask CLI, gunicorn, /proc.

Only the bench's own databases are ever created or dropped (``OWN_DATABASES``), and only the
gunicorn masters started here are stopped — by their process group, which they lead.
"""
from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PG = "postgresql://postgres@127.0.0.1:5432"
RUXUE_DB, BARE_DB = "ruxue_bench", "ruxue_bench_bare"
OWN_DATABASES = frozenset({RUXUE_DB, BARE_DB, "ruxue_bench_publish", "ruxue_bench_screens", "ruxue_bench_screens_small"})
RUXUE_PORT, BARE_PORT = 8201, 8202


# --- PostgreSQL ---------------------------------------------------------------------------------

def _admin():
    return psycopg.connect(f"{PG}/postgres", autocommit=True)


def recreate_db(name: str) -> None:
    if name not in OWN_DATABASES:
        raise ValueError(f"refusing to touch database {name!r}")
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def copy_db(source: str, target: str) -> None:
    """TARGET as a copy of SOURCE (PostgreSQL copies the files: seconds, nobody may be connected)."""
    if target not in OWN_DATABASES or source not in OWN_DATABASES:
        raise ValueError(f"refusing to touch database {target!r}")
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def drop_db(name: str) -> None:
    if name not in OWN_DATABASES:
        raise ValueError(f"refusing to touch database {name!r}")
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connect(name: str = RUXUE_DB):
    return psycopg.connect(f"{PG}/{name}", autocommit=True)


# --- Ruxue's environment and CLI ------------------------------------------------------------------

@dataclass
class Site:
    """One prepared Ruxue + bare pair: its temp folders and environment."""

    tmp: Path
    env: dict = field(default_factory=dict)
    bare_env: dict = field(default_factory=dict)

    @property
    def uploads(self) -> Path:
        return self.tmp / "uploads"

    @property
    def sms_dir(self) -> Path:
        return self.tmp / "sms"


def make_site(tmp: Path) -> Site:
    for sub in ("instance", "uploads", "sms"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "RUXUE_", "STORAGE_", "SMS_"))}
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {
        **base,
        "PYTHONPATH": pythonpath,
        "DATABASE_URL": f"{PG}/{RUXUE_DB}",
        "RUXUE_INSTANCE_DIR": str(tmp / "instance"),
        "STORAGE_BACKEND": "local",
        "STORAGE_LOCAL_DIR": str(tmp / "uploads"),
        "RUXUE_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "SMS_SENDER": "bench.sms.FileSender",
        "BENCH_SMS_DIR": str(tmp / "sms"),
        # the whole load comes from 127.0.0.1: the per-address login limit would stop it at once
        "OTP_LIMIT_PER_ADDRESS": "1000000 per hour",
        "OTP_LIMIT_PER_PHONE": "1000000 per hour",
    }
    bare_env = {**base, "PYTHONPATH": pythonpath, "BARE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{BARE_DB}"}
    return Site(tmp=tmp, env=env, bare_env=bare_env)


def run(cmd: list[str], env: dict, log: Path) -> float:
    """Run a set-up command, its output appended to LOG; raise with the tail if it fails."""
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        code = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}); see {log}:\n" + tail(log, 30))
    return time.perf_counter() - started


def flask(site: Site, *args: str) -> float:
    return run([str(VENV_BIN / "flask"), "--app", "run", *args], site.env, site.tmp / "setup.log")


def flask_has_command(site: Site, name: str) -> bool:
    out = subprocess.run([str(VENV_BIN / "flask"), "--app", "run", "--help"], cwd=ROOT, env=site.env,
                         capture_output=True, text=True).stdout
    return re.search(rf"^\s+{re.escape(name)}\s", out, re.M) is not None


def prepare(site: Site, county: str, applications: int, bare_rows: int) -> dict:
    """Fresh databases, Ruxue migrated with a demo county, the bare table pre-filled."""
    timings = {}
    recreate_db(RUXUE_DB)
    recreate_db(BARE_DB)
    timings["db_upgrade_s"] = flask(site, "db", "upgrade")
    timings["demo_s"] = flask(site, "demo", county, "--open-now", "--applications", str(applications))
    timings["bare_init_s"] = run([sys.executable, "-m", "bench.bare_app", "--init", str(bare_rows)], site.bare_env,
                                 site.tmp / "setup.log")
    return timings


# --- gunicorn --------------------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def cpu(self) -> float:
        """CPU of the workers, restarted ones included (the master itself is idle)."""
        return cpu_seconds(self.workers(), self.proc.pid)

    def stop(self) -> None:
        """SIGTERM to the master's own process group (started with a new session), then SIGKILL."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass


def start_gunicorn(name: str, app: str, port: int, env: dict, log: Path, kind: str, workers: int, threads: int,
                   timeout: int, config: Path | None = None) -> Server:
    cmd = [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-k", kind, "--threads", str(threads),
           "-b", f"127.0.0.1:{port}", "--timeout", str(timeout), "--error-logfile", str(log),
           "--capture-output", *(["-c", str(config)] if config else []), app]
    with open(log, "a") as out:
        out.write(f"\n=== {' '.join(cmd)}\n")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(log, "a"),
                            start_new_session=True)
    return Server(name, proc, port, log)


def wait_ready(server: Server, path: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.proc.returncode}); see {server.log}:\n" + tail(server.log, 30))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} did not answer {path} within {seconds}s; see {server.log}")


# --- /proc -----------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
        return found


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pids: list[int], parent: int | None = None) -> float:
    """User + system CPU of the processes, plus what PARENT's exited children used: workers and
    PostgreSQL backends come and go, and a dead one's CPU would otherwise drop out of the sum."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])
    fields = _stat(parent) if parent else None
    if fields:
        total += int(fields[13]) + int(fields[14])  # cutime + cstime: reaped children
    return total / ticks


def machine_cpu() -> float:
    """CPU seconds all cores spent busy (from /proc/stat): what else ran shows as the rest."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait (guest is inside user)
    return busy / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU of PostgreSQL on this machine, its finished backends included (read only)."""
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
        except OSError:
            pass
    postmasters = []
    for pid in pids:
        fields = _stat(pid)
        if fields and int(fields[1]) not in pids:  # its parent is no postgres: the postmaster
            postmasters.append(pid)
    return cpu_seconds(pids) + sum(cpu_seconds([], m) for m in postmasters)


# --- logs ------------------------------------------------------------------------------------------

def tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def log_size(path: Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Violation|Failure|Timeout)\w*)(?::\s?(.*))?$")
REQUEST_LINE = re.compile(r"Exception on (\S+) \[(\w+)\]")


def exceptions_since(path: Path, offset: int) -> Counter:
    """Each traceback (chain) written after OFFSET as "METHOD /path: root ⇒ final exception", counted."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return Counter()
    found: Counter = Counter()
    request, chain, in_trace, chained = "", [], False, False

    def close():
        nonlocal chain, request
        if chain:
            root, final = chain[0], chain[-1]
            same = root.split(":")[0] == final.split(":")[0]
            found[f"{request or '?'}: {root[:150]}" + ("" if same else f" ⇒ {final.split(':')[0]}")] += 1
            chain, request = [], ""

    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last)"):
            if not chained:
                close()
            in_trace, chained = True, False
            continue
        if line.startswith(("During handling of the above", "The above exception was")):
            chained = True
            continue
        match = REQUEST_LINE.search(line)
        if match and not in_trace:
            close()
            request = match.group(2) + " " + re.sub(r"/\d+", "/<id>", match.group(1))
        if in_trace and not line.startswith((" ", "\t")) and line.strip():
            exception = EXCEPTION_LINE.match(line)
            if exception:
                chain.append(f"{exception.group(1)}: {exception.group(2) or ''}")
                in_trace = False
        if "WORKER TIMEOUT" in line:
            found["gunicorn: WORKER TIMEOUT"] += 1
    close()
    return found


def first_traceback(path: Path, offset: int = 0, frames: int = 12) -> list[str]:
    """The first failed request after OFFSET: its request line, the frames in the app's own code
    (where to look) and the exception lines of the chain."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            lines = log.read().decode(errors="replace").splitlines()
    except OSError:
        return []
    start = next((i for i, line in enumerate(lines) if "Exception on" in line or line.startswith("Traceback")), None)
    if start is None:
        return []
    kept, app_dir = [], str(ROOT / "app")
    for i, line in enumerate(lines[start:start + 400], start):
        if i > start and REQUEST_LINE.search(line):
            break  # the next failed request
        if i == start or EXCEPTION_LINE.match(line) or line.startswith(("During handling", "The above exception")):
            kept.append(line)
        elif line.strip().startswith("File") and app_dir in line:
            kept += [line, lines[i + 1] if i + 1 < len(lines) else ""]
    return kept[: frames * 2]
