"""Store round trips of the app's sign-in and takeover, counted exactly (one store call is one
Redis round trip on production; bench/README.md "store ops/op"). A regression guard: a new
store call on these paths must show up here, and be worth it."""

from __future__ import annotations

import requests

from tests.helpers.devices import expect_challenge

CALLS = ("put", "add", "add_get", "get", "get_many", "take", "delete", "incr", "incr_get",
         "incr_many", "batch", "ping")


class Counting:
    """The app's store, counting its calls (the batches of gateway.store.access included)."""

    def __init__(self, inner):
        self._inner, self.calls = inner, []

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        if name not in CALLS:
            return value

        def counted(*args, **kwargs):
            self.calls.append(name)
            return value(*args, **kwargs)

        return counted

    def take_count(self) -> int:
        count, self.calls = len(self.calls), []
        return count


def _count(world) -> Counting:
    counting = Counting(world.app.extensions["gateway.store"])
    world.app.extensions["gateway.store"] = counting
    return counting


def test_a_sign_in_again_makes_seven_round_trips(world):
    phone = world.device("An")
    phone.sign_in(world.username, world.password)
    counting = _count(world)
    phone.sign_in(world.username, world.password)
    # challenge: the proof's claim, the throttle's reservation, its give-back with the old
    # session's marker, the code; /token: claim + code, code-used, revocation markers
    assert counting.take_count() == 7


def test_a_takeover_makes_fifteen_round_trips(world):
    world.device("An").sign_in(world.username, world.password)
    counting = _count(world)
    phone = world.device("Binh")
    conflict = expect_challenge(lambda: phone.sign_in(world.username, world.password))
    assert conflict.reason == "device_conflict"
    assert counting.take_count() == 3  # claim, reservation, give-back + the record
    otp_step = expect_challenge(lambda: phone.confirm_takeover(conflict.auth_session))
    assert otp_step.reason == "otp_required"
    assert counting.take_count() == 3  # claim + record, cool-down/budgets/caps, code + record
    world.app.extensions["gateway.store"] = counting._inner
    code = world.last_otp()  # delivering the outbox is not the takeover's
    world.app.extensions["gateway.store"] = counting
    phone.submit_otp(otp_step.auth_session, code)
    # challenge: claim + record, reservation, the code's try, its take, give-back + the
    # record forgotten + the old session's marker, the new code; /token: as a sign-in's
    assert counting.take_count() == 6 + 3


def _post(url, proof, **data):
    return requests.post(url, data=data, headers={"DPoP": proof}, timeout=10)


def test_a_replayed_proof_is_refused_before_any_step_runs(world):
    """The proof's jti claim rides with the first store read: a replay is still refused,
    and the step behind it (here: sending an SMS code) does not run."""
    world.device("An").sign_in(world.username, world.password)
    phone = world.device("Binh")
    url = f"{world.base}/authorize-challenge"
    start = phone.proof("POST", url)
    fields = {"client_id": world.client_id, "username": world.username,
              "password": world.password, "device_id": phone.device_id,
              "device_name": phone.device_name, "code_challenge": "x" * 43,
              "code_challenge_method": "S256"}
    conflict = _post(url, start, **fields)
    assert conflict.json()["reason"] == "device_conflict"
    assert _post(url, start, **fields).json()["error"] == "invalid_dpop_proof"

    confirm = phone.proof("POST", url)
    step = {"client_id": world.client_id, "auth_session": conflict.json()["auth_session"],
            "takeover": "confirm"}
    assert _post(url, confirm, **step).json()["reason"] == "otp_required"
    replayed = _post(url, confirm, **step)
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_dpop_proof"
    assert len([m for m in world.sms() if m["template"] == "otp"]) == 1


def test_a_replayed_proof_is_refused_at_the_token_endpoint(world):
    phone = world.device("An")
    phone.sign_in(world.username, world.password)
    url = f"{world.base}/token"
    proof = phone.proof("POST", url)
    first = _post(url, proof, client_id=world.client_id, grant_type="refresh_token",
                  refresh_token=phone.tokens.refresh_token)
    assert first.status_code == 200, first.text
    again = _post(url, proof, client_id=world.client_id, grant_type="refresh_token",
                  refresh_token=first.json()["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_dpop_proof"
