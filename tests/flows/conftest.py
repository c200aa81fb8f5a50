"""Fixtures shared by the flow tests."""

from tests.flows.device_support import world  # noqa: F401  (the served app-device world)
