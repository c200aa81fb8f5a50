"""Every way issue 10 lists for the upstream to go wrong, met through a served gateway: a page
that says so plainly, and nothing linked, created or signed in."""

from __future__ import annotations

import dataclasses
import time

import pytest
from joserfc.jwk import ECKey

from gateway.models import Account, Event, LinkReview, LoginSession, VneidLink
from providers.vneid_jose import REFETCH_INTERVAL
from tests.helpers.vneid import AN, DUNG, silent_server


def _nothing_happened(world):
    with world.app.app_context():
        assert VneidLink.query.count() == 0
        assert LoginSession.query.count() == 0
        assert LinkReview.query.count() == 0
        assert Account.query.count() == 3  # the seeded ones only


def _failed_reasons(world):
    with world.app.app_context():
        return [e.data["reason"] for e in Event.query.filter_by(name="vneid.failed")]


def _page_code(answer) -> str:
    return answer.text.split('id="message" data-code="')[1].split('"')[0]


@pytest.mark.parametrize(("tampering", "reason"), [
    ({"claims": {"iss": "https://evil.example/sandbox/vneid"}}, "id_token_iss"),
    ({"claims": {"aud": "someone-else"}}, "id_token_aud"),
    ({"claims": {"nonce": "not-this-sign-ins"}}, "id_token_nonce"),
    ({"claims": {"iat": int(time.time()) - 3600}}, "id_token_iat"),
    ({"claims": {"iat": int(time.time()) + 3600}}, "id_token_iat"),
    ({"alg": "none"}, "id_token_alg"),
    ({"alg": "HS256"}, "id_token_alg"),
    ({"sign_with": ECKey.generate_key("P-256", private=True)}, "id_token_signature"),
    ({"header": {"kid": "unknown-kid"}}, "id_token_unknown_kid"),
    ({"callback": {"iss": "https://another-op.example"}}, "callback_iss_mismatch"),
    ({"callback": {"iss": None}}, "callback_iss_missing"),
    ({"userinfo": {"sub": "someone-else"}}, "userinfo_sub_mismatch"),
])
def test_a_bad_answer_is_a_plain_page_and_nothing_is_linked(rogue, tampering, reason):
    for name, value in tampering.items():
        setattr(rogue.upstream.tampering, name, value)
    person = rogue.person()
    answer = person.sign_in(rogue.web_id, DUNG)  # would otherwise create an account
    assert answer.status_code == 400 and _page_code(answer) == "vneid_invalid"
    assert 'id="back-to-login"' in answer.text
    assert _failed_reasons(rogue) == [reason]
    _nothing_happened(rogue)
    # The person can go back and try again: the login flow is still there.
    back = answer.text.split('id="back-to-login" href="')[1].split('"')[0].replace("&amp;", "&")
    assert person.get(back).status_code == 200


def test_the_upstreams_error_response(rogue):
    person = rogue.person()
    answer = person.callback(person.choose(person.to_upstream(rogue.web_id), AN, cancel=True))
    assert answer.status_code == 400 and _page_code(answer) == "vneid_cancelled"
    rogue.upstream.tampering.callback = {"error": "server_error", "code": None}
    other = rogue.person()
    answer = other.sign_in(rogue.web_id, AN)
    assert answer.status_code == 400 and _page_code(answer) == "vneid_refused"
    with rogue.app.app_context():
        failed = [e.data for e in Event.query.filter_by(name="vneid.failed")]
    assert [(e["reason"], e["upstream_error"]) for e in failed] == [
        ("upstream_error", "access_denied"), ("upstream_error", "server_error")]
    _nothing_happened(rogue)


def test_an_unknown_kid_is_found_after_a_rotation(rogue):
    person = rogue.person()
    assert person.sign_in(rogue.web_id, AN).status_code == 302
    client = rogue.app.extensions["gateway.vneid"]
    assert client.keys.fetches == 1
    rogue.upstream.provider.rotate_keys()
    client.keys._fetched_at -= REFETCH_INTERVAL  # a minute later
    again = rogue.person()
    assert again.sign_in(rogue.web_id, AN).status_code == 302
    assert client.keys.fetches == 2


def test_an_upstream_failing_between_the_redirect_and_the_callback(rogue):
    """Its token endpoint answers 500: the upstream is down for now."""
    person = rogue.person()
    callback = person.choose(person.to_upstream(rogue.web_id), DUNG)
    rogue.upstream.provider.token = _broken
    answer = person.callback(callback)
    assert answer.status_code == 502 and _page_code(answer) == "vneid_unavailable"
    assert _failed_reasons(rogue) == ["upstream_unreachable"]
    _nothing_happened(rogue)


def _broken(*args, **kwargs):
    raise RuntimeError("the upstream's own bug: a 500")


@pytest.mark.parametrize("dead", ["refused", "hung"])
def test_a_token_endpoint_that_cannot_be_reached(rogue, dead):
    """The network fails at the code exchange: connection refused, or no answer at all
    (VNEID_TIMEOUT). The same plain page; nothing linked."""
    rogue.app.extensions["gateway.vneid"].config = dataclasses.replace(
        rogue.app.extensions["gateway.vneid"].config, timeout=1)
    with silent_server() as hung:
        endpoint = "http://127.0.0.1:9/token" if dead == "refused" else f"{hung}/token"
        rogue.upstream.tampering.metadata = {"token_endpoint": endpoint}
        person = rogue.person()
        started = time.monotonic()
        answer = person.sign_in(rogue.web_id, DUNG)
        assert time.monotonic() - started < 10
    assert answer.status_code == 502 and _page_code(answer) == "vneid_unavailable"
    assert _failed_reasons(rogue) == ["upstream_unreachable"]
    _nothing_happened(rogue)


def test_an_unreachable_upstream_at_the_start(make_app, tmp_path):
    from tests.helpers.vneid import vneid_world

    with vneid_world(make_app, tmp_path, VNEID_ISSUER="http://127.0.0.1:9/op",
                     VNEID_CLIENT_ID="gw", VNEID_CLIENT_SECRET="s" * 20) as world:
        person = world.person()
        login = person.authorize(world.web_id).headers["Location"]
        page = person.get(login)
        start = page.text.split('id="vneid" class="button" href="')[1].split('"')[0]
        answer = person.get(start.replace("&amp;", "&"))
        assert answer.status_code == 502 and _page_code(answer) == "vneid_unavailable"
        assert 'id="back-to-login"' in answer.text
        _nothing_happened(world)
