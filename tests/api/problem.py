"""The one check every API error answer must pass: an RFC 9457 problem+json body."""

from __future__ import annotations

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def assert_problem(response, status: int, extensions: frozenset[str] = frozenset()) -> dict:
    """``response`` is a problem+json answer with ``status`` (and only the ``extensions`` members besides the
    standard ones); returns its body."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json", response.headers.get("Content-Type")
    body = response.get_json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"} | set(extensions), body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    if "errors" in body:
        assert isinstance(body["errors"], dict) and body["errors"]
        for field, messages in body["errors"].items():
            assert isinstance(field, str) and isinstance(messages, list) and messages, (field, messages)
            assert all(isinstance(message, str) and message for message in messages)
    return body
