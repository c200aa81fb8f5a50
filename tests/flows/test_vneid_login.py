"""Signing in with VNeID on the portal, through a served gateway and its sandbox upstream:
every decision of the linking rules as the person meets it, the proof, and the callback's
one use in one browser."""

from __future__ import annotations

import dataclasses
import time

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from gateway.models import Account, Event, LinkReview, LoginSession, VneidLink
from policies.assurance import ACR_LEVEL_1, ACR_LEVEL_2
from tests.helpers import PASSWORD, csrf_of, race
from tests.helpers.sms import last_otp, sms_sent
from tests.helpers.vneid import AN, BINH, CUONG, DUNG, EM, ORGANISATION, tokens_for


def _id_token(world, person, answer) -> dict:
    query = person.follow_to_client(answer)
    assert query["iss"] == world.base and query["state"] == person.params["state"]
    body = tokens_for(world.base, world.web_id, world.web_secret, query["code"],
                      person.verifier)
    keys = KeySet.import_key_set(requests.get(f"{world.base}/jwks.json", timeout=10).json())
    return jwt.decode(body["id_token"], keys, algorithms=["ES256", "RS256"]).claims


def _events(world, name):
    with world.app.app_context():
        return [e.data for e in Event.query.filter_by(name=name).order_by(Event.id)]


def test_a_verified_match_links_at_once_and_signs_in(vworld):
    person = vworld.person()
    answer = person.sign_in(vworld.web_id, AN)
    assert answer.status_code == 302 and "/authorize?" in answer.headers["Location"]
    claims = _id_token(vworld, person, answer)
    assert claims["amr"] == ["vneid"] and claims["acr"] == ACR_LEVEL_2
    with vworld.app.app_context():
        account = Account.query.filter_by(bhxh="0123456789").one()
        assert claims["sub"] == account.sub
        link = VneidLink.query.one()
        assert (link.account_id, link.subject, link.how) == (account.id, AN, "auto")
    assert [m["template"] for m in sms_sent(vworld.app)] == ["vneid_linked"]
    assert _events(vworld, "vneid.signed_in")[0]["how"] == "link"


def test_a_linked_identity_signs_in_again_without_a_new_link(vworld):
    vworld.person().sign_in(vworld.web_id, AN)
    person = vworld.person()
    claims = _id_token(vworld, person, person.sign_in(vworld.web_id, AN))
    assert claims["amr"] == ["vneid"]
    with vworld.app.app_context():
        assert VneidLink.query.count() == 1
    assert [m["template"] for m in sms_sent(vworld.app)] == ["vneid_linked"]
    assert [e["how"] for e in _events(vworld, "vneid.signed_in")] == ["link", "sign_in"]


def _prove_page(world, tech_id=BINH):
    person = world.person()
    answer = person.sign_in(world.web_id, tech_id)
    assert answer.status_code == 303 and "/vneid/prove?flow=" in answer.headers["Location"]
    return person, answer.headers["Location"]


def test_an_unverified_account_is_linked_after_its_password_and_an_sms_code(vworld):
    person, prove = _prove_page(vworld)
    page = person.get(prove)
    assert "******5678" in page.text and "7912345678" not in page.text
    wrong = person.form(prove, {"password": PASSWORD + "-wrong"})
    assert wrong.status_code == 401 and 'data-code="invalid_password"' in wrong.text
    right = person.form(prove, {"password": PASSWORD})
    assert right.status_code == 303 and "/vneid/prove/otp?flow=" in right.headers["Location"]
    otp_page = right.headers["Location"]
    assert person.get(otp_page).status_code == 200
    with vworld.app.app_context():
        assert VneidLink.query.count() == 0  # nothing linked before the code
    bad = person.form(otp_page, {"otp": "000000" if last_otp(vworld.app) != "000000"
                                 else "111111"})
    assert bad.status_code == 400 and 'data-code="otp_invalid"' in bad.text
    done = person.form(otp_page, {"otp": last_otp(vworld.app)})
    assert done.status_code == 302
    claims = _id_token(vworld, person, done)
    assert claims["amr"] == ["vneid", "pwd", "otp", "sms"] and claims["acr"] == ACR_LEVEL_2
    with vworld.app.app_context():
        account = Account.query.filter_by(bhxh="7912345678").one()
        link = VneidLink.query.one()
        assert (link.account_id, link.how, link.reason) == (account.id, "proof",
                                                           "account_unverified")
        assert account.level == 2  # raised by the level-2 identity's link
    templates = [m["template"] for m in sms_sent(vworld.app)]
    assert templates == ["otp", "vneid_linked"]


def test_the_proof_code_belongs_to_its_own_sign_in(vworld):
    first, prove_a = _prove_page(vworld)
    otp_a = first.form(prove_a, {"password": PASSWORD}).headers["Location"]
    code_a = last_otp(vworld.app)
    second, prove_b = _prove_page(vworld)
    otp_b = second.form(prove_b, {"password": PASSWORD}).headers["Location"]
    code_b = last_otp(vworld.app)
    # Another sign-in's code proves nothing here (each record has its own code); the two
    # six-digit codes coincide once in a million runs.
    refused = second.form(otp_b, {"otp": code_a})
    assert refused.status_code == 400 and 'data-code="otp_invalid"' in refused.text
    assert second.form(otp_b, {"otp": code_b}).status_code == 302
    # The first sign-in's code still proves the first: then the link exists, and it signs in.
    assert first.form(otp_a, {"otp": code_a}).status_code == 302
    with vworld.app.app_context():
        assert VneidLink.query.count() == 1


def test_the_proof_counts_towards_the_login_names_lock(vworld):
    person, prove = _prove_page(vworld)
    statuses = [person.form(prove, {"password": f"wrong-{i}"}).status_code for i in range(6)]
    assert statuses == [401] * 5 + [429]
    # The same login name: the ordinary password sign-in is locked as well.
    other = vworld.person()
    login = other.get(other.authorize(vworld.web_id).headers["Location"])
    locked = other.form(login, {"username": "7912345678", "password": PASSWORD,
                                "flow": login.url.split("flow=")[1]})
    assert locked.status_code == 429
    with vworld.app.app_context():
        assert Event.query.filter_by(name="account.locked").count() == 1
        assert VneidLink.query.count() == 0


def test_a_resend_sends_a_new_code_for_the_same_sign_in(vworld):
    vworld.app.config["OTP_RESEND_COOLDOWN"] = 1
    person, prove = _prove_page(vworld)
    otp_page = person.form(prove, {"password": PASSWORD}).headers["Location"]
    first = last_otp(vworld.app)
    time.sleep(1.1)
    page = person.get(otp_page)
    resend = person.post(otp_page.replace("/prove/otp", "/prove/resend"),
                         {"csrf_token": csrf_of(page.text)})
    assert resend.status_code == 303
    second = last_otp(vworld.app)
    assert len([m for m in sms_sent(vworld.app) if m["template"] == "otp"]) == 2
    # The new code replaced the old one (they coincide once in a million runs).
    assert person.form(otp_page, {"otp": first}).status_code == 400
    assert person.form(otp_page, {"otp": second}).status_code == 302


def test_a_resend_within_the_cooldown_is_refused(vworld):
    person, prove = _prove_page(vworld)
    otp_page = person.form(prove, {"password": PASSWORD}).headers["Location"]
    page = person.get(otp_page)
    refused = person.post(otp_page.replace("/prove/otp", "/prove/resend"),
                          {"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 429 and 'data-code="otp_rate_limited"' in refused.text
    missing_csrf = person.post(otp_page, {"otp": last_otp(vworld.app)})
    assert missing_csrf.status_code == 400 and 'data-code="csrf_failed"' in missing_csrf.text


def test_a_disagreeing_birth_date_goes_to_staff_review(vworld):
    person = vworld.person()
    answer = person.sign_in(vworld.web_id, CUONG)
    assert answer.status_code == 200
    assert 'data-code="review:birthdate_mismatch"' in answer.text
    assert 'id="back-to-login"' in answer.text
    with vworld.app.app_context():
        case = LinkReview.query.one()
        assert case.reason == "birthdate_mismatch"
        assert VneidLink.query.count() == 0 and LoginSession.query.count() == 0
    assert _events(vworld, "vneid.stopped")[0]["decision"] == "review"


def test_a_participant_without_an_account_gets_one(vworld):
    person = vworld.person()
    claims = _id_token(vworld, person, person.sign_in(vworld.web_id, DUNG))
    assert claims["amr"] == ["vneid"] and claims["acr"] == ACR_LEVEL_2
    with vworld.app.app_context():
        account = Account.query.filter_by(bhxh="4812345670").one()  # the register's number
        assert (account.full_name, account.cccd, account.level) == (
            "Phạm Thị Dung", "048195000789", 2)
        assert account.password_usable is False and claims["sub"] == account.sub
        assert VneidLink.query.one().how == "created"
    assert [m["template"] for m in sms_sent(vworld.app)] == ["vneid_account_created"]


def test_someone_unknown_to_the_register_is_told_to_declare(vworld):
    person = vworld.person()
    answer = person.sign_in(vworld.web_id, EM)
    assert answer.status_code == 200
    assert 'data-code="declare:not_in_register"' in answer.text
    with vworld.app.app_context():
        assert Account.query.count() == 3 and VneidLink.query.count() == 0
    # Back to the sign-in page: the parked /authorize request is still there.
    back = answer.text.split('id="back-to-login" href="')[1].split('"')[0].replace("&amp;", "&")
    assert person.get(back).status_code == 200


def test_an_organisation_gets_a_plain_explanation(vworld):
    answer = vworld.person().sign_in(vworld.web_id, ORGANISATION)
    assert answer.status_code == 200 and 'data-code="refuse:not_a_citizen"' in answer.text
    with vworld.app.app_context():
        assert VneidLink.query.count() == 0 and LoginSession.query.count() == 0


def test_a_level_one_identity_signs_in_at_level_one(vworld):
    """A level-1 identity on an already linked account: the session says level 1 (the
    sign-in rests on VNeID's level, not on the account's)."""
    person = vworld.person()
    _id_token(vworld, person, person.sign_in(vworld.web_id, AN))
    sandbox = vworld.app.extensions["gateway.vneid_sandbox"]
    sandbox.citizens[AN] = dataclasses.replace(sandbox.citizens[AN], level=1)
    again = vworld.person()
    claims = _id_token(vworld, again, again.sign_in(vworld.web_id, AN))
    assert claims["acr"] == ACR_LEVEL_1 and claims["amr"] == ["vneid"]


def test_the_callback_works_once_and_only_in_its_browser(vworld):
    person = vworld.person()
    callback = person.choose(person.to_upstream(vworld.web_id), AN)
    elsewhere = vworld.person().get(callback)
    assert elsewhere.status_code == 400 and 'data-code="flow_expired"' in elsewhere.text
    first = person.get(callback)
    assert first.status_code == 302
    replay = person.get(callback)
    assert replay.status_code == 400 and 'data-code="flow_expired"' in replay.text
    with vworld.app.app_context():
        assert LoginSession.query.count() == 1 and VneidLink.query.count() == 1


def test_racing_callbacks_sign_in_once(vworld):
    person = vworld.person()
    callback = person.choose(person.to_upstream(vworld.web_id), AN)
    statuses = race(6, lambda _: person.get(callback).status_code)
    assert sorted(statuses) == [302] + [400] * 5
    with vworld.app.app_context():
        assert LoginSession.query.count() == 1 and VneidLink.query.count() == 1


def test_a_web_client_may_go_straight_to_vneid(vworld):
    person = vworld.person()
    answer = person.authorize(vworld.web_id, idp="vneid")
    assert answer.status_code == 302 and "/vneid/start?flow=" in answer.headers["Location"]
    upstream = person.get(answer.headers["Location"]).headers["Location"]
    claims = _id_token(vworld, person, person.get(person.choose(upstream, AN)))
    assert claims["amr"] == ["vneid"]


def test_a_start_without_a_login_flow_of_this_browser_finds_nothing(vworld):
    person = vworld.person()
    person.authorize(vworld.web_id)
    login = person.authorize(vworld.web_id).headers["Location"]
    flow = login.split("flow=")[1].split("&")[0]
    stranger = vworld.person().get(f"/vneid/start?flow={flow}")
    assert stranger.status_code == 400 and 'data-code="flow_expired"' in stranger.text
    assert vworld.person().get("/vneid/start?flow=nonsense").status_code == 400


def test_two_vneid_identities_racing_for_one_account_exactly_one_links(vworld):
    """A second VNeID identity with An's identity number (a re-issued number, say): both
    callbacks arrive at once; the database lets one link, the other goes to staff review."""
    sandbox = vworld.app.extensions["gateway.vneid_sandbox"]
    twin = "vneid-sbx-twin"
    sandbox.citizens[twin] = dataclasses.replace(sandbox.citizens[AN], tech_id=twin)
    people = [vworld.person(), vworld.person()]
    callbacks = [people[0].choose(people[0].to_upstream(vworld.web_id), AN),
                 people[1].choose(people[1].to_upstream(vworld.web_id), twin)]
    answers = race(2, lambda i: people[i].callback(callbacks[i]))
    outcomes = sorted("signed_in" if a.status_code == 302 else a.text.split(
        'data-code="')[1].split('"')[0] for a in answers)
    assert outcomes == ["review:linked_elsewhere", "signed_in"]
    with vworld.app.app_context():
        link = VneidLink.query.one()
        assert link.account_id == vworld.accounts[AN]
        assert LinkReview.query.one().reason == "linked_elsewhere"
        assert LoginSession.query.count() == 1
