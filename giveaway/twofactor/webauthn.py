"""WebAuthn ceremonies: the one module that talks to py_webauthn.

The relying party (id, name, origin) always comes from the settings, never
from the request: a forged Host header must not change whom a key signs for.
Functions here build options and verify responses; they know nothing of the
database. Failures raise `CeremonyError` with a sentence a person can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.parse_attestation_object import parse_attestation_object
from webauthn.helpers.parse_authentication_credential_json import (
    parse_authentication_credential_json,
)
from webauthn.helpers.parse_client_data_json import parse_client_data_json
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorAttachment,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


class CeremonyError(Exception):
    """The browser's answer is not acceptable; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class KeyRef:
    """What the options need to know of a registered key."""

    credential_id: bytes
    transports: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class NewKey:
    credential_id: bytes
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: list[str]
    backup_eligible: bool
    backup_state: bool


@dataclass(frozen=True)
class Assertion:
    credential_id: bytes
    new_sign_count: int
    backup_state: bool


def rp_id() -> str:
    return current_app.config["WEBAUTHN_RP_ID"]


def origin() -> str:
    return current_app.config["WEBAUTHN_ORIGIN"].rstrip("/")


def encode(data: bytes) -> str:
    return bytes_to_base64url(data)


def decode(text: str) -> bytes:
    return base64url_to_bytes(text)


def _descriptors(keys: list[KeyRef]) -> list[PublicKeyCredentialDescriptor]:
    result = []
    for key in keys:
        transports = []
        for name in key.transports:
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        result.append(PublicKeyCredentialDescriptor(id=key.credential_id, transports=transports))
    return result


def registration_options(
    *, user_handle: bytes, user_name: str, existing: list[KeyRef]
) -> tuple[str, bytes]:
    """Options for navigator.credentials.create() as JSON, and their challenge.

    Roaming keys (cross-platform), no resident key, no user verification and no
    attestation: the portal needs a second factor, not a passkey or a vendor.
    The user's keys are excluded so that one key cannot be registered twice.
    """
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=current_app.config["WEBAUTHN_RP_NAME"],
        user_id=user_handle,
        user_name=user_name,
        user_display_name=user_name,
        timeout=int(current_app.config["WEBAUTHN_TIMEOUT_MS"]),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            authenticator_attachment=AuthenticatorAttachment.CROSS_PLATFORM,
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            require_resident_key=False,
            user_verification=UserVerificationRequirement.DISCOURAGED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return options_to_json(options), options.challenge


def authentication_options(keys: list[KeyRef]) -> tuple[str, bytes]:
    """Options for navigator.credentials.get() as JSON, and their challenge."""
    options = generate_authentication_options(
        rp_id=rp_id(),
        timeout=int(current_app.config["WEBAUTHN_TIMEOUT_MS"]),
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.DISCOURAGED,
    )
    return options_to_json(options), options.challenge


def _as_dict(credential: Any) -> dict[str, Any]:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError as exc:
            raise CeremonyError(_unreadable()) from exc
    if not isinstance(credential, dict):
        raise CeremonyError(_unreadable())
    return credential


def _origin_and_rp_problem(client_data_b64: Any, expected_type: str) -> str | None:
    """A friendlier reason than the library's for the common mistakes."""
    try:
        client_data = parse_client_data_json(decode(client_data_b64))
    except Exception:  # noqa: BLE001 - the library reports the details below
        return None
    if client_data.type != expected_type:
        return _("The browser's answer was for another kind of request.")
    if client_data.origin != origin():
        return _(
            "The security key answered for %(origin)s, not for this site. "
            "Open the portal at its usual address and try again.",
            origin=client_data.origin,
        )
    return None


def credential_id_of(credential: Any) -> bytes:
    """The raw credential id the browser says it used (unverified)."""
    data = _as_dict(credential)
    raw = data.get("rawId") or data.get("id")
    if not isinstance(raw, str):
        raise CeremonyError(_unreadable())
    try:
        return decode(raw)
    except Exception as exc:  # noqa: BLE001 - malformed base64url
        raise CeremonyError(_unreadable()) from exc


def user_handle_of(credential: Any) -> bytes | None:
    data = _as_dict(credential)
    response = data.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if not handle:
        return None
    try:
        return decode(handle)
    except Exception:  # noqa: BLE001
        return b"malformed"


def verify_registration(credential: Any, challenge: bytes) -> NewKey:
    data = _as_dict(credential)
    sent = data.get("response")
    response: dict[str, Any] = sent if isinstance(sent, dict) else {}
    problem = _origin_and_rp_problem(response.get("clientDataJSON"), "webauthn.create")
    if problem:
        raise CeremonyError(problem)
    try:
        verified = verify_registration_response(
            credential=data,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=origin(),
            require_user_presence=True,
            require_user_verification=False,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise CeremonyError(_reason(exc, "registered")) from exc
    flags = parse_attestation_object(verified.attestation_object).auth_data.flags
    transports = response.get("transports")
    return NewKey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=str(verified.aaguid or ""),
        transports=[t for t in transports if isinstance(t, str)][:8]
        if isinstance(transports, list)
        else [],
        backup_eligible=bool(flags.be),
        backup_state=bool(flags.bs),
    )


def verify_authentication(credential: Any, challenge: bytes, *, public_key: bytes) -> Assertion:
    """Check the signature, origin, RP id and challenge of an assertion.

    The sign count is NOT compared here (the library is given 0): the caller
    compares it with the stored one after the signature is known to be good,
    so that a regression can be recorded as an event rather than lost in a
    generic failure.
    """
    data = _as_dict(credential)
    sent = data.get("response")
    response: dict[str, Any] = sent if isinstance(sent, dict) else {}
    problem = _origin_and_rp_problem(response.get("clientDataJSON"), "webauthn.get")
    if problem:
        raise CeremonyError(problem)
    try:
        parsed = parse_authentication_credential_json(data)
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=origin(),
            credential_public_key=public_key,
            credential_current_sign_count=0,
            require_user_verification=False,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise CeremonyError(_reason(exc, "used")) from exc
    return Assertion(
        credential_id=verified.credential_id,
        new_sign_count=verified.new_sign_count,
        backup_state=bool(verified.credential_backed_up),
    )


def _unreadable() -> str:
    return _("The browser's answer could not be read. Please try again.")


def _reason(exc: Exception, doing: str) -> str:
    """Why the library refused, for the person; `doing` is "registered" or "used"."""
    text = str(exc).lower()
    if "rp id" in text or "rp_id" in text:
        if doing == "registered":
            return _("The security key was registered for another site. Please try again here.")
        return _("The security key was used for another site. Please try again here.")
    if "challenge" in text:
        return _("This request is not the one we expected. Reload the page and try again.")
    if "user presence" in text or "user was not present" in text:
        return _("The security key did not confirm that you touched it. Please try again.")
    if "signature" in text:
        return _("The security key's signature could not be verified.")
    if doing == "registered":
        return _("The security key could not be registered. Please try again.")
    return _("The security key could not be used. Please try again.")
