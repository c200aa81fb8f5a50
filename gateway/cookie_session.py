"""Flask's signed-cookie session, with its serializer built once per key set.

Flask builds an itsdangerous serializer (its signer, its key list) on every request, to open
a session most requests never read: machine clients at /token and /introspect send no
cookie. The serializer holds nothing of a request, so one per (key, fallback keys) serves
every request; a changed SECRET_KEY (tests build many apps) gets its own.
"""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers: dict[tuple, object] = {}

    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer
