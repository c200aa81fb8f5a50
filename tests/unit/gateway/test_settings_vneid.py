"""The VNeID and insurance-register settings: the sandbox outside production, and every
refusal at start (bad JSON named, production refusing an empty issuer and the sandbox)."""

from __future__ import annotations

import json

import pytest
from joserfc.jwk import ECKey, RSAKey

from gateway.settings import ConfigError, load_settings
from tests.helpers.settings import GOOD_PRODUCTION


def _load(tmp_path, **env):
    return load_settings(environ={f"GATEWAY_{k}": v for k, v in env.items()},
                         instance_path=tmp_path)


def test_development_without_an_issuer_uses_the_sandbox(tmp_path):
    s = _load(tmp_path, ISSUER="http://127.0.0.1:8123/")
    assert s["VNEID_ISSUER"] == "http://127.0.0.1:8123/sandbox/vneid"
    assert s["VNEID_CLIENT_ID"] == "vssid-gateway"
    # Derived from SECRET_KEY: every process of one gateway agrees, another gateway differs.
    assert len(s["VNEID_CLIENT_SECRET"]) == 64
    assert _load(tmp_path)["VNEID_CLIENT_SECRET"] == s["VNEID_CLIENT_SECRET"]
    other = _load(tmp_path, SECRET_KEY="another-development-secret")
    assert other["VNEID_CLIENT_SECRET"] != s["VNEID_CLIENT_SECRET"]


def test_a_configured_issuer_is_left_alone(tmp_path):
    s = _load(tmp_path, VNEID_ISSUER="https://sso.example.vn", VNEID_CLIENT_ID="gw",
              VNEID_CLIENT_SECRET="x" * 20)
    assert (s["VNEID_ISSUER"], s["VNEID_CLIENT_ID"]) == ("https://sso.example.vn", "gw")


def test_the_sandbox_keeps_a_configured_key_instead_of_a_derived_secret(tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(ECKey.generate_key("P-256", private=True).as_pem(private=True))
    s = _load(tmp_path, VNEID_PRIVATE_KEY_FILE=str(key_file))
    assert s["VNEID_CLIENT_SECRET"] == ""


@pytest.mark.parametrize(("value", "says"), [
    ("{not json", "not valid JSON"),
    ('["TechID"]', "JSON object"),
    ('{"subjekt": "TechID"}', "unknown field(s) subjekt"),
    ('{"subject": ""}', "subject: the claim name"),
    ('{"level": 2}', "level: the claim name"),
])
def test_bad_claim_mappings_stop_the_start_naming_why(tmp_path, value, says):
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, VNEID_CLAIMS=value)
    assert str(info.value).startswith("GATEWAY_VNEID_CLAIMS: ") and says in str(info.value)


@pytest.mark.parametrize(("name", "value"), [
    ("VNEID_ISSUER", "sso.example.vn"),
    ("VNEID_ISSUER", "https://sso.example.vn/?x=1"),
    ("VNEID_LEVEL2_VALUES", " , "),
    ("VNEID_SCOPE", "profile"),
    ("VNEID_TIMEOUT", "0"),
    ("VNEID_TIMEOUT", "61"),
    ("VNEID_CLOCK_SKEW", "301"),
    ("VNEID_CLOCK_SKEW", "-1"),
    ("INSURANCE_REGISTER_FILE", "/nonexistent/register.csv"),
])
def test_malformed_values_are_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"GATEWAY_{name}"):
        _load(tmp_path, **{name: value})


def test_an_issuer_needs_a_client_and_one_way_to_authenticate(tmp_path):
    with pytest.raises(ConfigError, match="GATEWAY_VNEID_CLIENT_ID"):
        _load(tmp_path, VNEID_ISSUER="https://sso.example.vn", VNEID_CLIENT_SECRET="x")
    with pytest.raises(ConfigError, match="GATEWAY_VNEID_CLIENT_SECRET"):
        _load(tmp_path, VNEID_ISSUER="https://sso.example.vn", VNEID_CLIENT_ID="gw")
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    with pytest.raises(ConfigError, match="not both"):
        _load(tmp_path, VNEID_ISSUER="https://sso.example.vn", VNEID_CLIENT_ID="gw",
              VNEID_CLIENT_SECRET="x", VNEID_PRIVATE_KEY_FILE=str(key_file))
    s = _load(tmp_path, VNEID_ISSUER="https://sso.example.vn", VNEID_CLIENT_ID="gw",
              VNEID_PRIVATE_KEY_FILE=str(key_file))
    assert s["VNEID_CLIENT_SECRET"] == ""


@pytest.mark.parametrize("content", [
    lambda: ECKey.generate_key("P-256", private=True).as_pem(private=False),  # public half
    lambda: ECKey.generate_key("P-384", private=True).as_pem(private=True),   # other curve
    lambda: b"-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n",
    lambda: json.dumps({"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0"}).encode(),
])
def test_unusable_private_keys_are_refused(tmp_path, content):
    key_file = tmp_path / "key"
    key_file.write_bytes(content())
    with pytest.raises(ConfigError, match="GATEWAY_VNEID_PRIVATE_KEY_FILE"):
        _load(tmp_path, VNEID_PRIVATE_KEY_FILE=str(key_file))
    with pytest.raises(ConfigError, match="GATEWAY_VNEID_PRIVATE_KEY_FILE"):
        _load(tmp_path, VNEID_PRIVATE_KEY_FILE=str(tmp_path / "missing.pem"))


def test_a_jwk_private_key_is_accepted(tmp_path):
    key = ECKey.generate_key("P-256", private=True)
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(key.as_dict(private=True)))
    _load(tmp_path, VNEID_PRIVATE_KEY_FILE=str(key_file))


@pytest.mark.parametrize(("name", "value"), [
    ("GATEWAY_VNEID_ISSUER", ""),
    ("GATEWAY_VNEID_ISSUER", "https://id.vssid.example.vn/sandbox/vneid"),
    ("GATEWAY_VNEID_ISSUER", "https://elsewhere.example.vn/sandbox/vneid"),
    ("GATEWAY_VNEID_ISSUER", "http://sso.dichvucong.gov.vn"),
    ("GATEWAY_INSURANCE_REGISTER_FILE", ""),
])
def test_production_refuses_the_sandbox_and_an_empty_upstream(tmp_path, name, value):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={**GOOD_PRODUCTION, name: value}, instance_path=tmp_path)
    assert str(info.value).startswith(name + ":")
