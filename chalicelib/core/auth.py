"""Who is calling: RS256 JWTs checked against a JWKS, and the roles of API.md.

The built-in authorizer verifies the token and hands the caller's `sub`, `role`, `approver`
and `exp` to the route in the authorizer context. A bad token is denied at the gateway;
the gateway answers 401 (see the GatewayResponses in infra/). Roles are checked by the route
(`core.api`), so a wrong role gets API.md's 403 body.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalice import AuthResponse, Blueprint

from chalicelib.core.errors import Unauthenticated
from chalicelib.core.ids import new_id
from chalicelib.core.observability import logger

ROLES = frozenset({"rider", "driver", "business", "admin", "service", "auditor"})
APPROVER_GROUP = "approvers"  # Cognito cannot add an `approver` claim without a trigger; a group can

authorizer_blueprint = Blueprint(__name__)


@dataclass(frozen=True)
class Caller:
    """The verified identity behind a request."""

    sub: str
    role: str
    approver: bool = False
    expires_at: int = 0

    def auth_context(self) -> dict[str, Any]:
        """The authorizer context API Gateway passes on (strings, numbers and booleans only)."""
        return {"role": self.role, "approver": self.approver, "exp": self.expires_at}

    @classmethod
    def from_auth_context(cls, context: dict[str, Any]) -> "Caller":
        """Rebuild the caller from the context; API Gateway may turn booleans into strings."""
        return cls(
            sub=str(context.get("principalId", "")),
            role=str(context.get("role", "")),
            approver=str(context.get("approver", "")).lower() == "true",
            expires_at=int(context.get("exp") or 0),
        )

    def expired(self, now: datetime) -> bool:
        """True once the token's `exp` has passed (a cached gateway decision may outlive it)."""
        return bool(self.expires_at) and now.timestamp() >= self.expires_at


    def is_the(self, role: str, sub: str | None) -> bool:
        """True when this caller is the `role` whose id is `sub`: identity is (role, sub), compared exactly."""
        return self.role == role and sub is not None and self.sub == sub


def role_of(claims: dict[str, Any]) -> str:
    """Claim `role`, else the first Cognito group (`approvers` aside); '' when neither names a known role.

    A role or group list of another shape (a list, an object, a number) is `Unauthenticated`: a token
    nobody issued that way is refused, never guessed at.
    """
    role, groups = claims.get("role"), claims.get("cognito:groups")
    if role is not None and not isinstance(role, str):
        raise Unauthenticated("token claim 'role' must be a string")
    if groups is not None and not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        raise Unauthenticated("token claim 'cognito:groups' must be a list of strings")
    role_groups = [group for group in groups or [] if group != APPROVER_GROUP]
    chosen = role or (role_groups[0] if role_groups else "")
    return chosen if chosen in ROLES else ""


def approves(claims: dict[str, Any], role: str) -> bool:
    """An admin may approve payout rounds: claim `approver: true`, or membership of the Cognito `approvers` group."""
    groups = claims.get("cognito:groups") or []
    return role == "admin" and (claims.get("approver") is True or APPROVER_GROUP in groups)


def bearer_token(header_value: str | None) -> str:
    """The token of an `Authorization: Bearer <JWT>` header."""
    scheme, _, token = (header_value or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected 'Authorization: Bearer <token>'")
    return token.strip()


@authorizer_blueprint.authorizer(ttl_seconds=60)
def jwt_authorizer(auth_request):
    """API Gateway's built-in authorizer: allow a verified caller, deny anything else."""
    from chalicelib.core.tokens import verify_token  # PyJWT and cryptography load in the authorizer only

    logger.set_correlation_id(new_id("auth"))  # its own: never the id of the request this container served last
    try:
        caller = verify_token(bearer_token(auth_request.token))
    except Unauthenticated as exc:
        logger.info("token refused", extra={"reason": exc.message})
        return AuthResponse(routes=[], principal_id="anonymous")
    except Exception:  # a token of a shape nobody foresaw is refused, never a dropped connection
        logger.exception("token refused: unexpected shape")
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=caller.sub, context=caller.auth_context())
