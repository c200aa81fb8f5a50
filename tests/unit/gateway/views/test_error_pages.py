"""The one error renderer (gateway/views/errors.py) on pages: a lock says how long in whole
minutes wherever it is raised, never a raw "{minutes}"."""

from __future__ import annotations

import pytest

from gateway.services.throttle import LockedError
from gateway.views.errors import domain_error_response


@pytest.mark.parametrize(("seconds", "minutes"), [(1, 1), (60, 1), (61, 2), (900, 15)])
def test_a_lock_on_a_generic_page_says_its_minutes(app, seconds, minutes):
    with app.test_request_context("/account/password", headers={"Accept": "text/html"}):
        response = domain_error_response(LockedError(seconds))
        page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(seconds)
    assert "{minutes}" not in page
    assert f"{minutes} phút" in page


def test_a_lock_in_english(app):
    with app.test_request_context("/account/password?lang=en", headers={"Accept": "text/html"}):
        page = domain_error_response(LockedError(120)).get_data(as_text=True)
    assert "2 minute(s)" in page and "{minutes}" not in page


def test_a_program_gets_the_code_and_retry_after(app):
    with app.test_request_context("/api/v1/me"):
        response = domain_error_response(LockedError(30))
    assert response.get_json()["error"] == "account_locked"
    assert response.headers["Retry-After"] == "30"
