"""Store round trips of the app's sign-in and takeover, counted exactly (one store call is one
Redis round trip on production; bench/README.md "store ops/op"). A regression guard: a new
store call on these paths must show up here, and be worth it."""

from __future__ import annotations

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
