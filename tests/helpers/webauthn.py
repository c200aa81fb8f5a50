"""A software WebAuthn authenticator and client for the tests: real ES256 keys (cryptography),
real CBOR attestation objects, authenticator data and clientDataJSON, real signatures — what a
browser and a platform authenticator send, byte for byte (WebAuthn Level 3 §6.1, §6.5, §5.8.1),
so the gateway's `webauthn` library verifies it as it would a phone's. It keeps its
credentials as a platform authenticator keeps discoverable ones (per RP ID, with the user
handle), and lets a test do what an attacker or a broken device would: sign for another
origin or RP ID, skip user verification, present an old signature counter (a clone).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)  # "none" attestation: the model is not said


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0
    backup_eligible: bool = False

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})


class SoftAuthenticator:
    """One platform authenticator with user verification, used at ``origin``."""

    def __init__(self, origin: str):
        self.origin = origin
        self.credentials: list[Credential] = []

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    @staticmethod
    def _auth_data(rp_id: str, flags: int, count: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(
            ">I", count) + attested

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
               uv: bool = True, backup_eligible: bool = False) -> dict:
        """navigator.credentials.create(): a new ES256 credential, ``none`` attestation."""
        assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
        rp = rp_id or options["rp"]["id"]
        credential = Credential(secrets.token_bytes(32), ec.generate_private_key(ec.SECP256R1()),
                                rp, unb64u(options["user"]["id"]),
                                backup_eligible=backup_eligible)
        flags = UP | AT | (UV if uv else 0) | (BE if backup_eligible else 0)
        attested = AAGUID + struct.pack(">H", len(credential.id)) + credential.id + (
            credential.cose_public_key())
        auth_data = self._auth_data(rp, flags, credential.sign_count, attested)
        self.credentials.append(credential)
        return {"id": b64u(credential.id), "rawId": b64u(credential.id), "type": "public-key",
                "response": {
                    "clientDataJSON": b64u(self._client_data("webauthn.create",
                                                             options["challenge"], origin)),
                    "attestationObject": b64u(cbor2.dumps(
                        {"fmt": "none", "attStmt": {}, "authData": auth_data})),
                    "transports": ["internal"]},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def get(self, options: dict, *, credential: Credential | None = None,
            origin: str | None = None, rp_id: str | None = None, uv: bool = True,
            count: int | None = None, user_handle: bytes | None = None) -> dict:
        """navigator.credentials.get(): an assertion by ``credential`` (default: the newest
        discoverable one for the options' RP ID), its counter advanced unless ``count``."""
        rp = rp_id or options["rpId"]
        if credential is None:
            credential = [c for c in self.credentials if c.rp_id == options["rpId"]][-1]
        credential.sign_count = credential.sign_count + 1 if count is None else count
        flags = UP | (UV if uv else 0) | (BE if credential.backup_eligible else 0)
        auth_data = self._auth_data(rp, flags, credential.sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                        ec.ECDSA(hashes.SHA256()))
        return {"id": b64u(credential.id), "rawId": b64u(credential.id), "type": "public-key",
                "response": {"clientDataJSON": b64u(client_data),
                             "authenticatorData": b64u(auth_data), "signature": b64u(signature),
                             "userHandle": b64u(user_handle or credential.user_handle)},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def clone(self, credential: Credential) -> Credential:
        """A copy of the credential's private key elsewhere, its counter where it was."""
        copy = Credential(credential.id, credential.key, credential.rp_id,
                          credential.user_handle, credential.sign_count,
                          credential.backup_eligible)
        return copy
