"""The CGNAT simulation (bench/cgnat.py) on the suite's backend: a small crowd and a sprayer.

It drives the real throttle, so this checks the harness and the rule together, in clock time:
nobody in the crowd is refused, the sprayer is held to one check per wait after its free ones.
"""

from datetime import UTC, datetime

from bench import cgnat
from gateway.clock import FixedClock

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a window boundary


def test_a_crowd_gets_in_and_the_sprayer_waits(make_app):
    fixed = FixedClock(START)
    app = make_app(clock=fixed, ADDRESS_FAILURE_LIMIT=10, ADDRESS_DELAY_MS=2000)
    args = cgnat.parse_args(["--people", "300", "--minutes", "2", "--seed", "3"])
    result = cgnat.simulate(app, fixed, START, args, attackers=1)
    summary = cgnat.summary(result, args, app.config["GLOBAL_FAILURE_ALARM_PER_MINUTE"])
    assert (summary["refused"], summary["never_in"], summary["signed_in"]) == (0, 0, 300)
    assert summary["delayed"] > 250 and summary["delay_p50"] == 2.0
    # Ten free checks at 150 ms each, then one per 2 s wait + 150 ms, for two minutes.
    checks = sum(result.attacker_checks.values())
    assert 10 + (120 - 1.5) // 2.15 - 1 <= checks <= 10 + 120 // 2.15 + 1
    assert summary["attacker_refused"] == 0 and summary["alarm_minutes"] == 0


def test_without_a_sprayer_the_crowd_never_waits(make_app):
    fixed = FixedClock(START)
    app = make_app(clock=fixed, ADDRESS_FAILURE_LIMIT=10)
    args = cgnat.parse_args(["--people", "300", "--minutes", "2"])
    result = cgnat.simulate(app, fixed, START, args, attackers=0)
    summary = cgnat.summary(result, args, app.config["GLOBAL_FAILURE_ALARM_PER_MINUTE"])
    assert summary["failures"] > 10  # more typos than the limit, all redeemed by sign-ins
    assert (summary["refused"], summary["delayed"], summary["signed_in"]) == (0, 0, 300)
