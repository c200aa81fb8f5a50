"""Hook points: where a higher layer adds its work to a service's operation, so the service
never imports that layer (the layers only call downward).

A service declares a `HookPoint` and runs it inside its operation; the layer that has work to
add registers a function at app start. The first one: ending a session
(gateway.services.revocation.session_ended) runs the protocol layer's back-channel logout,
registered by gateway.oidc.server.init_oauth, so the notices are queued in the transaction
that ends the session.

Registrations belong to one app (kept in ``app.extensions``), not to the process: the tests
build many apps in one process, and an app built without a layer must not run that layer's
hooks. Registering the same function twice keeps one.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app


class HookPoint:
    """A named place in an operation where registered functions run, in registration order,
    with the operation's keyword arguments; an error in one propagates to the operation."""

    def __init__(self, name: str):
        self.name = name
        self._key = f"gateway.hooks.{name}"

    def register(self, app: Flask, hook: Callable[..., object]) -> None:
        hooks = app.extensions.setdefault(self._key, [])
        if hook not in hooks:
            hooks.append(hook)

    def hooks(self, app: Flask | None = None) -> tuple[Callable[..., object], ...]:
        return tuple((app or current_app).extensions.get(self._key, ()))

    def run(self, **arguments) -> None:
        for hook in self.hooks():
            hook(**arguments)
