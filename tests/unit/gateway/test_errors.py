"""The domain error tree drawn in gateway/errors.py is the one in the code, and one renderer
(gateway/views/errors.py) answers every domain error the same way, in the API or elsewhere."""

from __future__ import annotations

import importlib
import pkgutil
import re

import pytest

import gateway
from gateway import errors
from gateway.availability import StoreUnavailableError
from gateway.errors import GatewayError
from gateway.methods.otp import OtpError
from gateway.services.passwords import PasswordRejectedError
from gateway.services.throttle import LockedError


def _every_subclass(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _every_subclass(sub)


def _import_the_product():
    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if not module.name.startswith("gateway.migrations"):
            importlib.import_module(module.name)


def test_the_drawn_tree_is_the_code():
    _import_the_product()
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__))
    in_code = {cls.__name__ for cls in _every_subclass(GatewayError)
               if not cls.__module__.startswith("tests.")}
    assert drawn == in_code


def test_an_outage_is_not_a_domain_error():
    # `except GatewayError` around a domain call must never swallow an outage (fail closed).
    assert not issubclass(StoreUnavailableError, GatewayError)


@pytest.fixture
def raising(make_app):
    """An app with two routes that raise the given error: one under /api, one for pages."""
    app = make_app()
    pending = {}

    def boom():
        raise pending["error"]

    app.add_url_rule("/api/v1/test-raise", "api_raise", boom, methods=["GET"])
    app.add_url_rule("/test-raise", "page_raise", boom, methods=["GET"])
    client = app.test_client()

    def call(error, path, **headers):
        pending["error"] = error
        return client.get(path, headers=headers)

    return call


@pytest.mark.parametrize(("path", "headers"), [("/api/v1/test-raise", {}),
                                               ("/test-raise", {"Accept": "application/json"})])
def test_programs_get_one_answer_for_a_domain_error(raising, path, headers):
    rejected = raising(PasswordRejectedError(["too_short", "common_password"]), path, **headers)
    assert rejected.status_code == 400
    assert rejected.json == {"error": "password_rejected", "field": "new_password",
                             "violations": ["too_short", "common_password"]}
    assert rejected.headers["Cache-Control"] == "no-store"
    assert "Retry-After" not in rejected.headers
    locked = raising(LockedError(90), path, **headers)
    assert (locked.status_code, locked.json) == (429, {"error": "account_locked"})
    assert locked.headers["Retry-After"] == "90"
    refused = raising(OtpError("otp_rate_limited", retry_after=30), path, **headers)
    assert (refused.status_code, refused.json) == (429, {"error": "otp_rate_limited",
                                                         "field": "otp"})
    assert refused.headers["Retry-After"] == "30"


def test_people_get_a_page_that_still_says_when_to_retry(raising):
    page = raising(LockedError(90), "/test-raise", Accept="text/html")
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert '<p class="code">account_locked' in page.get_data(as_text=True)
    assert page.headers["Retry-After"] == "90"
