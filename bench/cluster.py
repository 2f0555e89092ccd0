"""Ruxue deployed on one machine as deploy/ describes it, for tests/test_two_nodes.py and
bench/opening_day.py --two-nodes.

    one PostgreSQL database (created here, dropped at the end)
    one Redis (Debian's redis-server on a free loopback port, nothing saved to disk)
    N gunicorn nodes started with the shipped deploy/gunicorn.conf.py (RUXUE_BIND, WEB_CONCURRENCY,
        GUNICORN_THREADS, RUXUE_NODE_NAME from the environment)
    a real nginx (Debian's package) running the shipped deploy/nginx/ruxue.conf, changed by text
        substitution only where a test machine must differ (see ``site_config``)
    uploads in S3 (any endpoint, e.g. moto's server) or in one folder shared by the nodes

Everything runs on loopback in a temp folder; ``deployment()`` stops every process it started
(each leads its own process group) and drops its database, whatever happens.
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from bench.harness import Server, cpu_seconds, tail

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
REDIS = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
GUNICORN_CONF = ROOT / "deploy/gunicorn.conf.py"
NGINX_SITE = ROOT / "deploy/nginx/ruxue.conf"
# the only databases this module creates or drops: PREFIX + the pid of the process that made it
DB_PREFIX = "ruxue_nodes_"
# settings a caller's own environment must not leak into the app processes
OWN_SETTINGS = ("DATABASE_URL", "TEST_DATABASE_URL", "RUXUE_", "STORAGE_", "S3_", "SMS_", "BENCH_SMS_DIR", "REDIS_URL",
                "RATELIMIT_", "OTP_LIMIT_", "PROXY_FIX_HOPS", "SECRET_KEY", "WEB_CONCURRENCY", "GUNICORN_", "DB_POOL",
                "DB_MAX_OVERFLOW", "DB_CONNECT_TIMEOUT", "LAYOUT_TTL", "PAGE_CACHE_SECONDS", "CACHE_TYPE")


def missing_tools(server: str = PG_SERVER) -> list[str]:
    """What this machine lacks to run a deployment (empty: everything is there)."""
    missing = [path for path in (NGINX, REDIS, str(VENV_BIN / "gunicorn"), str(VENV_BIN / "flask")) if not os.access(path, os.X_OK)]
    if not shutil.which("openssl"):
        missing.append("openssl")
    try:
        with psycopg.connect(f"{server}/postgres", connect_timeout=3):
            pass
    except psycopg.Error as error:
        missing.append(f"PostgreSQL at {server} ({type(error).__name__})")
    return missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- PostgreSQL -------------------------------------------------------------------------------------

def _admin(server: str):
    return psycopg.connect(f"{server}/postgres", autocommit=True)


def _own(name: str) -> str:
    if not re.fullmatch(rf"{DB_PREFIX}[a-z0-9_]+", name):
        raise ValueError(f"refusing to touch database {name!r}")
    return name


def create_database(name: str, server: str = PG_SERVER) -> str:
    with _admin(server) as conn:
        conn.execute(f'CREATE DATABASE "{_own(name)}"')
    return f"{server}/{name}"


def drop_database(name: str, server: str = PG_SERVER) -> None:
    with _admin(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_own(name)}" WITH (FORCE)')


def drop_stale_databases(server: str = PG_SERVER) -> list[str]:
    """Databases of this module whose process is gone (a run killed before its clean-up)."""
    dropped = []
    with _admin(server) as conn:
        names = [n for (n,) in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (DB_PREFIX + "%",))]
    for name in names:
        match = re.fullmatch(rf"{DB_PREFIX}(?:[a-z]+_)?(\d+)(?:_[a-z0-9]+)?", name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            drop_database(name, server)
            dropped.append(name)
    return dropped


# --- processes ----------------------------------------------------------------------------------------

class Single(Server):
    """A server that is one process (Redis): its own CPU, not its children's."""

    def workers(self) -> list[int]:
        return [self.proc.pid] if self.proc.poll() is None else []

    def cpu(self) -> float:
        return cpu_seconds(self.workers())


def _spawn(cls, name: str, cmd: list[str], port: int, log: Path, env: dict | None = None) -> Server:
    with open(log, "a") as out:
        out.write(f"\n=== {' '.join(cmd)}\n")
        out.flush()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group: stop() ends it and its workers
    return cls(name, proc, port, log)


def start_redis(tmp: Path) -> Server:
    port = free_port()
    cmd = [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
           "--dir", str(tmp)]
    redis = _spawn(Single, "redis", cmd, port, tmp / "redis.log")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if redis.proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({redis.proc.returncode}):\n{tail(redis.log, 20)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return redis
        except OSError:
            pass
        time.sleep(0.05)
    redis.stop()
    raise RuntimeError(f"redis-server did not answer on port {port}:\n{tail(redis.log, 20)}")


def app_env(tmp: Path, database_url: str, redis_url: str, storage: dict, **extra: str) -> dict:
    """The environment of every app process (CLI and nodes): production settings, as
    deploy/ruxue.env.example has them, with a test's SMS sender and addresses."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(OWN_SETTINGS)}
    for sub in ("instance", "sms"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **base,
        "PYTHONPATH": pythonpath,
        "RUXUE_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "RUXUE_INSTANCE_DIR": str(tmp / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMS_SENDER": "bench.sms.FileSender",
        "BENCH_SMS_DIR": str(tmp / "sms"),
        "PROXY_FIX_HOPS": "1",
        **storage,
        **extra,
    }


def flask(env: dict, log: Path, *args: str) -> float:
    """`flask --app run ARGS` in the app's environment; its output appended to LOG."""
    cmd = [str(VENV_BIN / "flask"), "--app", "run", *args]
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(cmd)}\n")
        out.flush()
        code = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT).returncode
    if code:
        raise RuntimeError(f"{' '.join(cmd)} failed ({code}):\n{tail(log, 30)}")
    return time.perf_counter() - started


def start_node(name: str, env: dict, tmp: Path, workers: int, threads: int) -> Server:
    """gunicorn -c deploy/gunicorn.conf.py run:app, as ruxue-web.service runs it."""
    port = free_port()
    node_env = {**env, "RUXUE_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
                "GUNICORN_THREADS": str(threads), "RUXUE_NODE_NAME": name}
    cmd = [str(VENV_BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "run:app"]
    return _spawn(Server, name, cmd, port, tmp / f"node-{name}.log", node_env)


# --- nginx -----------------------------------------------------------------------------------------------

def nginx_version() -> tuple[int, ...]:
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr
    return tuple(int(x) for x in re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out).groups())


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "tls/fullchain.pem", tmp / "tls/privkey.pem"
    cert.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def fab_static_dir() -> Path:
    import flask_appbuilder

    return Path(flask_appbuilder.__file__).resolve().parent / "static/appbuilder"


@dataclass
class Site:
    text: str
    changes: list[str] = field(default_factory=list)


def _sub(site: Site, pattern: str, replacement: str, why: str, count: int = 1) -> None:
    text, n = re.subn(pattern, replacement, site.text, flags=re.M)
    if n != count:  # the shipped file changed: say where, instead of testing something else
        raise RuntimeError(f"deploy/nginx/ruxue.conf: expected {count} match(es) of {pattern!r} ({why}), found {n}")
    site.text = text
    site.changes.append(why)


def site_config(node_ports: list[int], http_port: int, https_port: int, cert: Path, key: Path,
                version: tuple[int, ...] | None = None) -> Site:
    """The shipped site, with only what a test machine must change: the nodes, the ports (loopback,
    no IPv6), the name, the certificate, the path of FAB's static files, and — for nginx older than
    1.25.1, e.g. Debian 12's 1.22 — HTTP/2 switched on the old way (``http2 on;`` is 1.25.1+)."""
    site = Site(NGINX_SITE.read_text())
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;\n" for p in node_ports)
    _sub(site, r"^[ \t]*server 127\.0\.0\.1:8000 max_fails=3 fail_timeout=10s;\n", servers, "upstream: the nodes' ports")
    _sub(site, r"^[ \t]*listen \[::\]:(80|443)( ssl http2)?;\n", "", "no IPv6 listeners", count=2)
    _sub(site, r"^([ \t]*)listen 80;", rf"\1listen 127.0.0.1:{http_port};", "listen: HTTP on a free loopback port")
    _sub(site, r"^([ \t]*)listen 443 ssl http2;", rf"\1listen 127.0.0.1:{https_port} ssl http2;",
         "listen: HTTPS on a free loopback port")
    _sub(site, r"server_name enroll\.example\.gov\.cn;", "server_name 127.0.0.1;", "server_name", count=2)
    _sub(site, r"ssl_certificate     /etc/ssl/ruxue/fullchain\.pem;", f"ssl_certificate     {cert};", "certificate: self-signed")
    _sub(site, r"ssl_certificate_key /etc/ssl/ruxue/privkey\.pem;", f"ssl_certificate_key {key};", "key: self-signed")
    _sub(site, r"alias /opt/ruxue/\.venv/lib/python3\.11/site-packages/flask_appbuilder/static/appbuilder/;",
         f"alias {fab_static_dir()}/;", "FAB static files: this venv's package")
    return site


def main_config(tmp: Path, site: Path, worker_processes: str = "1") -> str:
    """A top-level nginx.conf of the test's own: everything it writes stays in TMP."""
    temp = {name: tmp / f"nginx-{name}" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read this checkout (and FAB's files) as we do
    return (f"daemon off;\nworker_processes {worker_processes};\n{user}pid {tmp}/nginx.pid;\n"
            f"error_log {tmp}/nginx-error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            "    default_type application/octet-stream;\n"
            "    sendfile on;\n"
            f"    access_log {tmp}/nginx-access.log;\n"
            + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
            + f"    include {site};\n"
            "}\n")


def start_nginx(tmp: Path, node_ports: list[int], worker_processes: str = "1") -> tuple[Server, int, int, Site]:
    """nginx in front of the nodes; (server, https port, http port, the adapted site)."""
    cert, key = self_signed(tmp)
    http_port, https_port = free_port(), free_port()
    site = site_config(node_ports, http_port, https_port, cert, key)
    (tmp / "ruxue.conf").write_text(site.text)
    (tmp / "nginx.conf").write_text(main_config(tmp, tmp / "ruxue.conf", worker_processes))
    cmd = [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "nginx-error.log")]
    checked = subprocess.run([*cmd, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode:
        raise RuntimeError(f"nginx refuses the adapted deploy/nginx/ruxue.conf:\n{checked.stderr}")
    return _spawn(Server, "nginx", cmd, https_port, tmp / "nginx-error.log"), https_port, http_port, site


INSECURE = ssl.create_default_context()
INSECURE.check_hostname = False
INSECURE.verify_mode = ssl.CERT_NONE


def wait_healthy(url: str, servers: list[Server], seconds: float = 60) -> None:
    """Poll URL until it answers 200; fail at once if one of SERVERS exits."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        for server in servers:
            if server.proc.poll() is not None:
                raise RuntimeError(f"{server.name} exited ({server.proc.returncode}):\n{tail(server.log, 30)}")
        try:
            with urllib.request.urlopen(url, timeout=5, context=INSECURE if url.startswith("https") else None) as answer:
                if answer.status == 200:
                    return
                last = str(answer.status)
        except urllib.error.HTTPError as error:
            last = str(error.code)
        except OSError as error:
            last = type(error).__name__
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {seconds}s (last: {last}); logs: "
                       + ", ".join(str(s.log) for s in servers))


# --- the whole deployment ---------------------------------------------------------------------------------

@dataclass
class Deployment:
    tmp: Path
    db_name: str
    database_url: str
    env: dict
    redis: Server
    nodes: list[Server]
    nginx: Server
    https_port: int
    http_port: int
    site: Site
    timings: dict

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def sms_dir(self) -> Path:
        return Path(self.env["BENCH_SMS_DIR"])

    @property
    def servers(self) -> list[Server]:
        return [*self.nodes, self.nginx, self.redis]

    def connect(self):
        return psycopg.connect(self.database_url, autocommit=True)


@contextlib.contextmanager
def deployment(tmp: Path, *, nodes: int = 2, workers: int = 1, threads: int = 2, storage: dict | None = None,
               county: str = "shimen", applications: int = 0, purpose: str = "test", nginx_workers: str = "1",
               server: str = PG_SERVER, **extra_env: str):
    """Database, Redis, the nodes and nginx, all ready (each /healthz answered 200); stopped and
    dropped on the way out. STORAGE: the STORAGE_* / S3_* settings (default: one shared folder)."""
    tmp.mkdir(parents=True, exist_ok=True)
    name = f"{DB_PREFIX}{purpose}_{os.getpid()}_{secrets.token_hex(3)}"
    storage = storage or {"STORAGE_BACKEND": "local", "STORAGE_LOCAL_DIR": str(tmp / "uploads")}
    timings: dict = {}
    with contextlib.ExitStack() as stack:
        drop_stale_databases(server)
        database_url = create_database(name, server)
        stack.callback(drop_database, name, server)
        redis = start_redis(tmp)
        stack.callback(redis.stop)
        env = app_env(tmp, database_url, f"redis://127.0.0.1:{redis.port}/0", storage, **extra_env)
        timings["db_upgrade_s"] = round(flask(env, tmp / "setup.log", "db", "upgrade"), 2)
        timings["demo_s"] = round(flask(env, tmp / "setup.log", "demo", county, "--open-now", "--applications", str(applications)), 2)
        started = time.perf_counter()
        running = []
        for label in "abcdefgh"[:nodes]:
            node = start_node(label, env, tmp, workers, threads)
            stack.callback(node.stop)
            running.append(node)
        for node in running:
            wait_healthy(f"http://127.0.0.1:{node.port}/healthz", [node])
        nginx, https_port, http_port, site = start_nginx(tmp, [n.port for n in running], nginx_workers)
        stack.callback(nginx.stop)
        wait_healthy(f"https://127.0.0.1:{https_port}/healthz", [nginx, *running])
        timings["start_s"] = round(time.perf_counter() - started, 2)
        yield Deployment(tmp, name, database_url, env, redis, running, nginx, https_port, http_port, site, timings)

