"""JSON logs, one object a line, with the request id; personal numbers masked on the way out.

The masking filter is a safety net, not the policy: code logs ids and masked values. The net
catches 9–12 digit runs (social-insurance numbers, CCCD, phone numbers), `+84` numbers and
15-character health-insurance card numbers (whose social-insurance number follows letters,
so the digit rule alone misses it) anywhere in a message or field, and drops fields whose
names say they are secret.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

from flask import g, has_app_context

_DIGITS = re.compile(r"(?<![0-9A-Za-z_-])(\+?84|0)?([0-9]{9,12})(?![0-9A-Za-z_-])")
_CARD = re.compile(r"(?<![0-9A-Za-z_-])[A-Z]{2}[1-5][0-9]{12}(?![0-9A-Za-z_-])")
_SECRET_FIELDS = {"password", "new_password", "otp", "code", "client_secret", "refresh_token",
                  "access_token", "id_token", "code_verifier", "client_assertion", "token"}
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# The entry's own keys: a field of the same name (an event's `level`, say) never replaces
# one of them; it is written as `data_<name>` instead.
RESERVED = ("ts", "level", "logger", "msg", "request_id", "exc")


def mask_text(value: str) -> str:
    def repl(match):
        whole = match.group(0)
        return "*" * (len(whole) - 2) + whole[-2:]

    return _DIGITS.sub(repl, _CARD.sub(repl, value))


def _clean(key, value):
    if key.lower() in _SECRET_FIELDS:
        return "[redacted]"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _clean(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(key, v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
        }
        if has_app_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                name = key
                while name in RESERVED or name in entry:
                    name = f"data_{name}"
                entry[name] = _clean(key, value)
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
