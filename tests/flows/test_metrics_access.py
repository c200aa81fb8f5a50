"""/metrics answers only the addresses of METRICS_ALLOW_FROM (by default this machine) and,
when METRICS_TOKEN is set, only with that bearer token too; the defaults are not open."""

import pytest

from gateway.settings import ConfigError, load_settings
from tests.helpers.settings import GOOD_PRODUCTION

TOKEN = "m" * 40


def _get(client, address, **headers):
    return client.get("/metrics", environ_base={"REMOTE_ADDR": address}, headers=headers)


def test_by_default_only_this_machine_may_scrape(app, client):
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        answer = _get(client, address)
        assert answer.status_code == 200, address
        assert "gateway_http_requests_total" in answer.get_data(as_text=True)
    for address in ("10.0.0.7", "192.168.1.20", "2001:db8::1", "::ffff:10.0.0.7", "garbage"):
        answer = _get(client, address)
        assert answer.status_code == 403, address
        assert "gateway_" not in answer.get_data(as_text=True)


def test_an_allow_list_and_a_token(make_app):
    app = make_app(METRICS_ALLOW_FROM="10.20.0.0/24, 2001:db8::/64", METRICS_TOKEN=TOKEN)
    client = app.test_client()
    assert _get(client, "127.0.0.1").status_code == 403  # loopback no longer listed
    assert _get(client, "10.20.1.5").status_code == 403
    refused = _get(client, "10.20.0.9")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert _get(client, "10.20.0.9", Authorization="Bearer " + TOKEN[:-1] + "x").status_code == 401
    assert _get(client, "10.20.0.9", Authorization="Basic " + TOKEN).status_code == 401
    assert _get(client, "10.20.0.9", Authorization="Bearer " + TOKEN).status_code == 200
    assert _get(client, "2001:db8::42", Authorization="Bearer " + TOKEN).status_code == 200


def test_any_address_only_with_a_token(make_app):
    app = make_app(METRICS_ALLOW_FROM="", METRICS_TOKEN=TOKEN)
    client = app.test_client()
    assert _get(client, "203.0.113.9").status_code == 401
    assert _get(client, "203.0.113.9", Authorization="Bearer " + TOKEN).status_code == 200
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_ALLOW_FROM"):
        load_settings({"METRICS_ALLOW_FROM": "", "METRICS_TOKEN": ""}, environ={})
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_ALLOW_FROM"):
        load_settings({"METRICS_ALLOW_FROM": "10.0.0.0/8,not-a-network"}, environ={})


def test_production_defaults_are_not_open_and_want_a_long_token(tmp_path):
    settings = load_settings(environ=GOOD_PRODUCTION, instance_path=tmp_path)
    assert settings["METRICS_ALLOW_FROM"] == "127.0.0.1/32,::1/128"
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_TOKEN"):
        load_settings(environ={**GOOD_PRODUCTION, "GATEWAY_METRICS_TOKEN": "short"},
                      instance_path=tmp_path)
