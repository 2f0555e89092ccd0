"""gunicorn settings for Ruxue, all from the environment (see deploy/ruxue.env.example).

    gunicorn -c deploy/gunicorn.conf.py run:app      # what scripts/serve.sh and ruxue-web.service run
"""
import os

# Behind nginx on the same host: listen on loopback only; nginx is the one public door.
bind = os.environ.get("RUXUE_BIND", "127.0.0.1:8000")
# Workers: about one per core. Threads: requests a worker overlaps while PostgreSQL or S3 answers.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# A request that takes longer is stopped (its worker restarted) and the parent gets nginx's 502;
# every page of the form takes milliseconds, exports run as jobs.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
# No keep-alive: every answer says `Connection: close` and the node closes the connection. A worker
# closes its idle kept connections whenever it likes (after `keepalive` seconds, or when it
# restarts after max_requests or a reload), and a proxy holding one may have just sent a request
# on it: nginx gets a reset, never resends a POST, and the parent gets a 502 (resets on every node
# at once also mark them all down: "no live upstreams", a 502 for everyone for fail_timeout).
# New loopback/LAN connections cost far less than that; this holds whatever the proxy is told.
keepalive = 0
# Restart each worker after this many requests (with jitter), so memory never creeps.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
# Load the app before forking: workers share its memory and a wrong setting stops the start
# with one line, before any worker runs.
preload_app = True
# Access log without query strings: nothing personal is ever in a URL, but keep the lines short.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# the parent's address as nginx saw it (X-Real-IP; gunicorn's own %(h)s is nginx's)
access_log_format = '%({x-real-ip}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# X-Forwarded-* is trusted by the app (PROXY_FIX_HOPS), not by gunicorn.
forwarded_allow_ips = "127.0.0.1"


def post_fork(server, worker):
    """Each worker opens its own database connections, never one inherited from the master."""
    from app.extensions import db
    from run import app

    with app.app_context():
        db.engine.dispose(close=False)
