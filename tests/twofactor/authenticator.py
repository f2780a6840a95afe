"""A software security key: just enough WebAuthn to test the server side.

EC P-256 keys, attestation "none", a signature counter; it answers the JSON
options the portal sends with the JSON a browser's credential.toJSON() gives.
Origin and RP id can be set wrong on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftwareAuthenticator:
    origin: str = "http://localhost"
    counter_step: int = 1
    aaguid: bytes = bytes(16)
    credentials: list[Credential] = field(default_factory=list)

    def _cose_key(self, key: ec.EllipticCurvePrivateKey) -> bytes:
        numbers = key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None) -> dict:
        """Answer registration options (PublicKeyCredentialCreationOptionsJSON)."""
        rp = rp_id or options["rp"]["id"]
        excluded = {c["id"] for c in options.get("excludeCredentials", [])}
        for cred in self.credentials:
            if b64u(cred.credential_id) in excluded:
                raise InvalidStateError("this authenticator is already registered")
        key = ec.generate_private_key(ec.SECP256R1())
        cred = Credential(
            credential_id=os.urandom(32),
            private_key=key,
            rp_id=options["rp"]["id"],
            user_handle=unb64u(options["user"]["id"]),
        )
        self.credentials.append(cred)
        return self.attest(cred, options["challenge"], origin=origin, rp_id=rp)

    def attest(
        self,
        cred: Credential,
        challenge: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
    ) -> dict:
        """A registration response for an existing credential (to register it again)."""
        auth_data = (
            hashlib.sha256((rp_id or cred.rp_id).encode()).digest()
            + bytes([UP | AT])
            + struct.pack(">I", cred.sign_count)
            + self.aaguid
            + struct.pack(">H", len(cred.credential_id))
            + cred.credential_id
            + self._cose_key(cred.private_key)
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", challenge, origin)
        return {
            "id": b64u(cred.credential_id),
            "rawId": b64u(cred.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "attestationObject": b64u(attestation),
                "transports": ["usb"],
            },
            "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict,
        *,
        credential: Credential | None = None,
        origin: str | None = None,
        rp_id: str | None = None,
        sign_count: int | None = None,
    ) -> dict:
        """Answer request options (PublicKeyCredentialRequestOptionsJSON)."""
        if credential is None:
            allowed = {c["id"] for c in options.get("allowCredentials", [])}
            matches = [c for c in self.credentials if b64u(c.credential_id) in allowed]
            if not matches:
                raise NotAllowedError("no credential of this authenticator is allowed")
            credential = matches[0]
        if sign_count is None:
            credential.sign_count += self.counter_step
            sign_count = credential.sign_count
        auth_data = (
            hashlib.sha256((rp_id or options.get("rpId") or credential.rp_id).encode()).digest()
            + bytes([UP])
            + struct.pack(">I", sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64u(credential.credential_id),
            "rawId": b64u(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64u(client_data),
                "authenticatorData": b64u(auth_data),
                "signature": b64u(signature),
            },
            "authenticatorAttachment": "cross-platform",
            "clientExtensionResults": {},
        }


class InvalidStateError(Exception):
    """What a browser raises when an excluded credential is on the key."""


class NotAllowedError(Exception):
    """What a browser raises when no allowed credential is on the key."""
