"""Logs are JSON, carry the request id, and never show a full personal number or a secret."""

import json
import logging

from hypothesis import given
from hypothesis import strategies as st

from gateway.logs import JsonFormatter, mask_text


def _format(msg, **extra):
    record = logging.makeLogRecord({"msg": msg, "levelno": 20, "levelname": "INFO",
                                    "name": "t", **extra})
    return json.loads(JsonFormatter().format(record))


def test_personal_numbers_are_masked_in_message_and_fields():
    entry = _format("login 0123456789 from phone +84912345623 cccd 001085012345",
                    bhxh="0123456789", nested={"phone": "0912345623"})
    text = json.dumps(entry)
    for secret in ("0123456789", "912345623", "001085012345"):
        assert secret not in text
    assert entry["bhxh"].endswith("89")


def test_secret_fields_are_redacted():
    entry = _format("token issued", password="hunter22", refresh_token="abc", otp="123456")
    assert entry["password"] == entry["refresh_token"] == entry["otp"] == "[redacted]"


@given(st.from_regex(r"[0-9]{9,12}", fullmatch=True))
def test_any_long_digit_run_is_masked(number):
    assert number not in mask_text(f"value={number};")


@given(st.from_regex(r"[A-Z]{2}[1-5][0-9]{12}", fullmatch=True))
def test_a_health_card_number_is_masked(number):
    masked = mask_text(f"card {number}.")
    assert number not in masked and number[5:] not in masked and masked.endswith(number[-2:] + ".")


def test_request_id_is_in_log_lines_and_response(client, app, capsys):
    response = client.get("/healthz", headers={"X-Request-Id": "req-12345678"})
    assert response.headers["X-Request-Id"] == "req-12345678"
    bad = client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert bad.headers["X-Request-Id"] != "<script>"


def test_fields_never_replace_the_entrys_own_keys():
    """account.locked carries a `level` (how many locks in 24 h): it used to replace the
    record's level ("level": 1). Every reserved key keeps its meaning; the field is kept
    under data_<name>."""
    record = logging.makeLogRecord({
        "msg": "account.locked", "levelno": 20, "levelname": "INFO", "name": "gateway.events",
        "event": "account.locked", "account_id": 7, "seconds": 60, "level": 1,
        "ts": "yesterday", "logger": "forged", "request_id": "forged-id", "exc": "forged"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "info" and entry["data_level"] == 1
    assert entry["logger"] == "gateway.events" and entry["data_logger"] == "forged"
    assert entry["ts"] != "yesterday" and entry["data_ts"] == "yesterday"
    assert "request_id" not in entry and entry["data_request_id"] == "forged-id"
    assert "exc" not in entry and entry["data_exc"] == "forged"
    assert (entry["msg"], entry["event"], entry["seconds"]) == ("account.locked",
                                                                  "account.locked", 60)


def test_an_emitted_event_keeps_the_log_level(app, caplog):
    from gateway.services.events import emit

    with app.test_request_context("/", headers={"X-Request-Id": "req-levels-01"}):
        app.preprocess_request()
        with caplog.at_level(logging.INFO, logger="gateway.events"):
            emit("account.locked", account_id=None, seconds=60, level=3)
    [record] = [r for r in caplog.records if r.getMessage() == "account.locked"]
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "info" and entry["data_level"] == 3
