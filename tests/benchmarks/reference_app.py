"""The bare-Flask reference the pages are measured against: one route, a 50-row Jinja table from PostgreSQL.

Served by gunicorn with the same settings as the application, in the same run (tests/benchmarks/test_bench_pages.py).
"""

import os

from flask import Flask, render_template_string
from sqlalchemy import create_engine, text

TABLE = """<!doctype html><html><head><title>Reference</title></head><body><table>
<tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Record</th></tr>
{% for row in rows %}<tr><td>{{ row.id }}</td><td>{{ row.occurred_at }}</td><td>{{ row.username }}</td>
<td>{{ row.action }}</td><td>{{ row.entity_type }} {{ row.entity_id }}</td></tr>{% endfor %}
</table></body></html>"""
QUERY = text("SELECT id, occurred_at, username, action, entity_type, entity_id FROM audit_events "
             "ORDER BY id DESC LIMIT 50")

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)


@app.get("/")
def table():
    with engine.connect() as connection:
        rows = connection.execute(QUERY).all()
    return render_template_string(TABLE, rows=rows)


@app.get("/healthz")
def healthz():
    return "ok"
