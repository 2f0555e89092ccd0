"""gunicorn settings for bench/bench_screens.py: deploy/gunicorn.conf.py as shipped (workers,
threads, timeout from the environment), plus, in each worker, a count of the SQL statements of
every request — the way tests/test_city_scale.py counts them (SQLAlchemy's
``before_cursor_execute``), but at the bench's data size.

Each request, once its response is fully sent (a streamed export included), appends one JSON
line to $BENCH_STATEMENTS_LOG: pid, method, path, query, status, statements, ms, bytes.

    gunicorn -c bench/screens_gunicorn_conf.py run:app
"""
import json
import os
import runpy
import time
from pathlib import Path

_deploy = runpy.run_path(str(Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"))
globals().update({k: v for k, v in _deploy.items() if not k.startswith("_") and k not in ("os", "post_fork")})
_deploy_post_fork = _deploy["post_fork"]


class _Counting:
    """WSGI middleware: statements and time from the call until the response iterable is closed."""

    def __init__(self, app, counter, path):
        self.app, self.counter, self.path = app, counter, path

    def __call__(self, environ, start_response):
        before, started, seen = self.counter[0], time.perf_counter(), {}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        return _Closing(body, lambda sent: self._log(environ, seen, before, started, sent))

    def _log(self, environ, seen, before, started, sent):
        line = {"pid": os.getpid(), "method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO"),
                "query": environ.get("QUERY_STRING", ""), "status": seen.get("status"),
                "statements": self.counter[0] - before, "ms": round(1000 * (time.perf_counter() - started), 2),
                "bytes": sent}
        with open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")


class _Closing:
    def __init__(self, body, done):
        self.body, self.done, self.sent = body, done, 0

    def __iter__(self):
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.done(self.sent)


def post_fork(server, worker):
    _deploy_post_fork(server, worker)
    path = os.environ.get("BENCH_STATEMENTS_LOG")
    if not path:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from run import app

    counter = [0]

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_):
        counter[0] += 1

    app.wsgi_app = _Counting(app.wsgi_app, counter, path)
