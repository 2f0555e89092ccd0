"""GET /healthz for the load balancer: 200 while the database answers, 503 when it does not."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy import text

log = logging.getLogger("ruxue.health")


def register_health(app: Flask) -> None:
    @app.route("/healthz")
    def healthz():
        from app.extensions import db

        try:
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        except Exception as error:  # any failure to answer is "down" for the balancer
            log.warning("health check: database unavailable (%s)", type(error).__name__)
            try:
                db.session.rollback()
            except Exception:
                pass
            response = jsonify(status="unavailable", database=False)
            response.status_code = 503
            response.headers["Retry-After"] = "5"
        else:
            response = jsonify(status="ok", database=True)
        response.headers["Cache-Control"] = "no-store"
        return response
