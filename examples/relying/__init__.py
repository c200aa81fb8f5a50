"""How a relying service verifies the gateway's tokens with the library it already uses.

No SDK of ours: these modules are the examples shown in docs/relying-services.md (a test
checks the page shows them as they are) and the suite runs them against a live gateway
(tests/interop/test_relying_services.py). They import nothing of the gateway: a relying
service has only the issuer's URL and its own client credentials.

    pyjwt_verifier          PyJWT and PyJWKClient: access tokens (DPoP too), ID tokens,
                            back-channel logout tokens, introspection
    authlib_resource        Authlib's ResourceProtector on Flask (RFC 9068 validator, DPoP)
    ../../tests/interop/relying/verify.mjs   the same with Node's `jose`
"""
