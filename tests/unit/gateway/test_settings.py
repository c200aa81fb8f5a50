"""Settings: defaults, GATEWAY_* overrides, and the refusal of insecure production configs."""

import pytest

from gateway.settings import ConfigError, load_settings
from tests.helpers.settings import GOOD_PRODUCTION


def test_environment_overrides_are_typed(tmp_path):
    s = load_settings(environ={"GATEWAY_TRUSTED_PROXIES": "2", "GATEWAY_DEMO_ENABLED": "no",
                               "GATEWAY_SMS_OUTBOX": "/tmp/o.jsonl"}, instance_path=tmp_path)
    assert s["TRUSTED_PROXIES"] == 2 and s["DEMO_ENABLED"] is False
    assert s["SMS_OUTBOX"] == "/tmp/o.jsonl"
    assert s["DATABASE_URL"].startswith("sqlite:///") and str(tmp_path) in s["DATABASE_URL"]
    assert s["REDIS_URL"] == ""


def test_malformed_number_names_the_setting(tmp_path):
    with pytest.raises(ConfigError, match="GATEWAY_TRUSTED_PROXIES"):
        load_settings(environ={"GATEWAY_TRUSTED_PROXIES": "many"}, instance_path=tmp_path)


def test_good_production_config_starts(tmp_path):
    s = load_settings(environ=GOOD_PRODUCTION, instance_path=tmp_path)
    assert s["DEMO_ENABLED"] is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_SECRET_KEY", "dev-insecure-secret-change-me"),
        ("GATEWAY_SECRET_KEY", "short"),
        ("GATEWAY_ISSUER", "http://id.vssid.example.vn"),
        ("GATEWAY_DATABASE_URL", "sqlite:///x.db"),
        ("GATEWAY_SMS_PROVIDER", "file"),
        ("GATEWAY_SMS_HTTP_URL", "http://sms.example.vn/send"),
        ("GATEWAY_SMS_HTTP_TOKEN", ""),
    ],
)
def test_production_refuses_insecure_settings(tmp_path, name, value):
    env = {**GOOD_PRODUCTION, name: value}
    with pytest.raises(ConfigError) as info:
        load_settings(environ=env, instance_path=tmp_path)
    assert name in str(info.value)


def test_production_refuses_missing_database(tmp_path):
    env = {k: v for k, v in GOOD_PRODUCTION.items() if k != "GATEWAY_DATABASE_URL"}
    with pytest.raises(ConfigError, match="GATEWAY_DATABASE_URL"):
        load_settings(environ=env, instance_path=tmp_path)


def test_code_lifetime_cannot_exceed_sixty_seconds(tmp_path):
    with pytest.raises(ConfigError, match="AUTHORIZATION_CODE_TTL"):
        load_settings({"AUTHORIZATION_CODE_TTL": 600}, environ={}, instance_path=tmp_path)


@pytest.mark.parametrize("value", ["-1", "604801"])
def test_key_publish_lead_is_bounded(value, tmp_path):
    with pytest.raises(ConfigError, match="KEY_PUBLISH_LEAD"):
        load_settings(environ={"GATEWAY_KEY_PUBLISH_LEAD": value}, instance_path=tmp_path)
