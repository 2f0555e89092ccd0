"""gunicorn hooks for ``bench/opening_day.py --profile DIR``: each Ruxue worker runs under cProfile.

Loaded with ``-c``; the directory comes from RUXUE_PROFILE_DIR. A worker writes
``worker-<pid>.prof`` when it exits (the harness stops the servers with SIGTERM), to read with
``python -m pstats`` or ``bench/opening_day.py --profile-report DIR``.
"""
import cProfile
import os

_profile = cProfile.Profile()


def post_worker_init(worker):
    _profile.enable()


def worker_exit(server, worker):
    _profile.disable()
    _profile.dump_stats(os.path.join(os.environ["RUXUE_PROFILE_DIR"], f"worker-{os.getpid()}.prof"))
