"""The yardstick for bench/opening_day.py: the least a Flask + SQLAlchemy app on PostgreSQL does.

One table, ``POST /insert`` (insert a row, commit, redirect like a form) and ``GET /page``
(20 rows in order, rendered through a small Jinja template). Same stack as Ruxue where it costs
time — Flask, Flask-SQLAlchemy's default pool, psycopg 3, Jinja — and nothing else, so the ratio
Ruxue / bare shows what Ruxue's own work (sessions, CSRF, FAB, checks, templates) costs.

    BARE_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/ruxue_bench_bare \\
        gunicorn -w 2 -b 127.0.0.1:8202 bench.bare_app:app
    python -m bench.bare_app --init 1000     # create the table and pre-fill rows
"""
from __future__ import annotations

import datetime as dt
import os
import sys

from flask import Flask, redirect, render_template, request
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

URL = os.environ.get("BARE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/ruxue_bench_bare")

# A page about the size and shape of a short public page: a list of rows in an HTML shell.
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>bare</title></head>
<body><main><h1>最近登记</h1><table>
{% for r in rows %}<tr><td>{{ r.id }}</td><td>{{ r.name }}</td><td>{{ r.body }}</td><td>{{ r.created_at.strftime('%Y-%m-%d %H:%M') }}</td></tr>
{% endfor %}</table></main></body></html>"""


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Item(db.Model):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=dt.datetime.now, index=True)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = URL
    # a loaded template, compiled once and cached like Ruxue's files (render_template_string
    # would compile it on every request and make the yardstick slower than it should be)
    app.jinja_loader = DictLoader({"page.html": PAGE})
    db.init_app(app)

    @app.post("/insert")
    def insert():
        db.session.add(Item(name=request.form.get("name", "")[:64], body=request.form.get("body", "")))
        db.session.commit()
        return redirect("/page")

    @app.get("/page")
    def page():
        rows = db.session.scalars(select(Item).order_by(Item.id.desc()).limit(20)).all()
        return render_template("page.html", rows=rows)

    return app


app = create_app()


def init(rows: int) -> None:
    """Create the table and pre-fill it (run once, before the workers start)."""
    with app.app_context():
        db.create_all()
        db.session.execute(Item.__table__.insert(), [{"name": f"张{i:04d}", "body": "演示" * 10,
                                                      "created_at": dt.datetime.now()} for i in range(rows)])
        db.session.commit()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--init":
        init(int(sys.argv[2]))
    else:
        sys.exit("usage: python -m bench.bare_app --init ROWS")
