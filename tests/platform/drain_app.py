"""MedCover with one slow public route, served by the draining test's gunicorn (``tests.platform.drain_app:app``)."""

import time

from flask import request

from medcover.app import create_app
from medcover.rbac import public

app = create_app()


@public
def slow():
    time.sleep(min(float(request.args.get("seconds", "1")), 5))
    return f"done {request.args.get('n', '')}"


app.add_url_rule("/test-slow", "test_slow", slow)
