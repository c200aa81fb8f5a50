"""What an outage must look like from outside, for `requests` and Flask test responses alike:
503 `temporarily_unavailable` with `Retry-After`, JSON for programs, a page that says the
service is briefly unavailable for people; and the refusals counted in the metric."""

from __future__ import annotations

import json
import re

from gateway.availability import RETRY_AFTER_SECONDS

METRIC = re.compile(r'^gateway_dependency_unavailable_total\{dependency="(\w+)"\} (\S+)$', re.M)
TITLES = {"vi": "Dịch vụ tạm thời gián đoạn", "en": "Service briefly unavailable"}


def unavailable_counts(metrics_text: str) -> dict[str, float]:
    return {label: float(value) for label, value in METRIC.findall(metrics_text)}


def assert_program_answer(response, what: str) -> None:
    assert response.status_code == 503, (what, response.status_code, response.text[:300])
    assert response.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS), what
    assert response.headers["Content-Type"] == "application/json", what
    assert response.headers["Cache-Control"] == "no-store", what
    assert json.loads(response.text) == {"error": "temporarily_unavailable"}, what


def assert_person_page(response, what: str, lang: str = "vi") -> None:
    assert response.status_code == 503, (what, response.status_code, response.text[:300])
    assert response.headers.get("Retry-After") == str(RETRY_AFTER_SECONDS), what
    assert response.headers["Content-Type"].startswith("text/html"), what
    assert "Location" not in response.headers, what  # nothing goes back to the client
    html = response.text
    assert f'<html lang="{lang}">' in html, what
    assert f"<h1>{TITLES[lang]}</h1>" in html, (what, html[:600])
    assert 'data-code="temporarily_unavailable"' in html, what
