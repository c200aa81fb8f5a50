"""gateway.deferred: work runs once the response is closed, and waiting for one app's work
never waits for another's — not even one built at the address of an app that is gone."""

from __future__ import annotations

import pytest

from gateway import deferred


def _app_with_deferring_view(make_app, ran: list):
    app = make_app()

    def record(*, item: str) -> None:
        ran.append(item)

    def view():
        deferred.defer(record, item="done")
        return "", 204

    app.add_url_rule("/_defer_test", "defer_test", view, methods=["POST"])
    return app


def test_work_runs_when_the_response_is_closed_and_waits_are_per_app(make_app):
    ran: list = []
    first = _app_with_deferring_view(make_app, ran)
    response = first.test_client().post("/_defer_test", buffered=False)
    assert response.status_code == 204 and ran == []
    with pytest.raises(TimeoutError):
        deferred.wait_idle(first, timeout=0.2)
    second = make_app()
    deferred.wait_idle(second, timeout=0.2)  # another app's unclosed response is not its own
    response.close()
    deferred.wait_idle(first, timeout=5)
    assert ran == ["done"]


def test_every_app_has_its_own_key_whatever_its_address(make_app):
    keys = set()
    for _ in range(5):
        app = make_app()
        keys.add(app.extensions["gateway.deferred.serial"])
        del app
    assert len(keys) == 5
