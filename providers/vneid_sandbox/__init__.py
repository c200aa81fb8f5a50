"""An offline VNeID: a small OpenID provider with synthetic citizens, for development.

A separate provider, not part of the gateway (it imports nothing of it; tests/unit/
test_layers.py holds that): its own issuer, its own ES256 and RS256 keys, discovery, JWKS, a
page to choose a citizen, a token endpoint with PKCE and client authentication, userinfo, the
national portal's claim names, and RFC 9207's ``iss`` on the way back. Outside production the
gateway mounts one at ``{GATEWAY_ISSUER}/sandbox/vneid`` and, when GATEWAY_VNEID_ISSUER is
empty, signs in against it (gateway.settings), so `make run` shows "Đăng nhập bằng VNeID"
working with no network. Production never mounts it, and refuses it as the upstream.

    provider = SandboxProvider(issuer, [SandboxClient(...)], clock=clock,
                               citizens=load_citizens())
    wsgi_app = sandbox_app(provider)

Modules: citizens (the shipped synthetic citizens and their claims), provider (the OP's
state and rules), views (its HTTP endpoints).
"""

from providers.vneid_sandbox.citizens import Citizen, load_citizens
from providers.vneid_sandbox.provider import SandboxClient, SandboxError, SandboxProvider
from providers.vneid_sandbox.views import sandbox_app

__all__ = ["Citizen", "SandboxClient", "SandboxError", "SandboxProvider", "load_citizens",
           "sandbox_app"]
