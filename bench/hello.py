"""The bare limit of the list pages' benchmark: a hello-world Flask app, served by the same gunicorn settings."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
