"""The store (Redis) unreachable: the same answer as a database outage, `Retry-After`
included, and counted under dependency="store". (tests/flows/test_concurrency.py shows that
nothing is issued or consumed meanwhile.)"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.helpers import REDIRECT, basic, get_code, new_account, new_client
from tests.helpers.outage import assert_person_page, assert_program_answer, unavailable_counts

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def test_store_down_answers_say_when_to_retry_and_are_counted(app, client, make_app):
    new_account()
    client_id, secret = new_client()
    service_id, service_secret = new_client(type="service")
    result, verifier, params = get_code(client, client_id)  # issued while the store was up
    broken = make_app(REDIS_URL=CLOSED_PORT_REDIS).test_client()
    before = unavailable_counts(broken.get("/metrics").text)

    # A client's own token reads no row, but the clients' version in the store
    # (gateway/services/client_cache.py): a check that falls due with the store down fails
    # closed, it never trusts copies it cannot check.
    assert_program_answer(broken.post("/token", headers=basic(service_id, service_secret),
                                      data={"grant_type": "client_credentials"}),
                          "token client_credentials")

    assert_program_answer(broken.post("/token", headers=basic(client_id, secret), data={
        "grant_type": "authorization_code", "code": result["code"], "code_verifier": verifier,
        "redirect_uri": REDIRECT}), "token")
    assert_program_answer(broken.post("/api/v1/recovery", json={
        "username": "0123456789", "phone": "0912345623"}), "api recovery")
    assert_person_page(broken.get("/authorize?" + urlencode(params)), "authorize")
    assert_person_page(broken.get("/authorize?" + urlencode({**params, "lang": "en"})),
                       "authorize ?lang=en", lang="en")

    after = unavailable_counts(broken.get("/metrics").text)
    assert {k: after[k] - before[k] for k in ("database", "store")} == {
        "database": 0, "store": 5}
