"""Verifying RS256 JWTs against a JWKS (a Cognito URL in AWS, a file locally and in tests).

Imported by the authorizer only, so the API functions do not pay for PyJWT and cryptography.
"""

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt

from chalicelib.core.auth import Caller, approves, role_of
from chalicelib.core.config import Settings, get_settings
from chalicelib.core.errors import Unauthenticated

ALGORITHM = "RS256"
MAX_SUB_LENGTH = 200


def verify_token(token: str, settings: Settings | None = None) -> Caller:
    """The caller a bearer token proves, or `Unauthenticated` saying what is wrong with it."""
    settings = settings or get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthenticated("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise Unauthenticated(f"token algorithm must be {ALGORITHM}")
    key = _signing_key(token, header.get("kid"), settings)
    try:
        claims = jwt.decode(
            token,
            key=key,
            algorithms=[ALGORITHM],
            issuer=settings.auth_issuer,
            leeway=settings.auth_leeway_s,
            options={"require": ["exp", "iss", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub or not _plain(sub):
        raise Unauthenticated("token subject must be a plain string without surrounding spaces or control characters")
    if not _meant_for(claims, settings.auth_audience):
        raise Unauthenticated("token audience does not match")
    if not isinstance(claims["exp"], int | float) or not math.isfinite(claims["exp"]):
        raise Unauthenticated("token expiry must be a number of seconds")
    role = role_of(claims)
    return Caller(
        sub=sub,
        role=role,
        approver=approves(claims, role),
        expires_at=int(claims["exp"]),
    )


def _plain(sub: str) -> bool:
    return sub == sub.strip() and len(sub) <= MAX_SUB_LENGTH and all(ch.isprintable() for ch in sub)


def _meant_for(claims: dict[str, Any], audience: str) -> bool:
    """`aud` (ID tokens) or `client_id` (Cognito access tokens) names one of the comma-separated audiences."""
    accepted = {value.strip() for value in audience.split(",") if value.strip()}
    aud = claims.get("aud")
    offered = [*(aud if isinstance(aud, list) else [aud]), claims.get("client_id")]
    return any(isinstance(value, str) and value in accepted for value in offered)


def _signing_key(token: str, kid: str | None, settings: Settings) -> Any:
    if settings.auth_jwks_url:
        try:
            return _jwks_client(settings.auth_jwks_url).get_signing_key_from_jwt(token).key
        except jwt.PyJWTError as exc:
            raise Unauthenticated("no signing key for this token") from exc
    if not settings.auth_jwks_file:
        raise Unauthenticated("no signing keys configured")
    keys = _jwks_from_file(settings.auth_jwks_file)
    matching = [k for k in keys if kid is None or k.key_id == kid]
    if not matching:
        raise Unauthenticated("no signing key for this token")
    return matching[0].key


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    if not url.startswith("https://"):
        raise Unauthenticated("AUTH_JWKS_URL must be https")
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600)


@lru_cache(maxsize=4)
def _jwks_from_file(path: str) -> tuple[jwt.PyJWK, ...]:
    document = json.loads(Path(path).read_text())
    return tuple(key for key in jwt.PyJWKSet.from_dict(document).keys if key.key_type == "RSA")
