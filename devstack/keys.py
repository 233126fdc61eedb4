"""The dev signing key: an RS256 key pair and its JWKS, and tokens signed with it.

The local stack verifies tokens against the JWKS file (`AUTH_JWKS_FILE`), as AWS stages verify
Cognito's tokens against Cognito's JWKS URL.
"""

import fcntl
import json
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"
ISSUER = "https://auth.o2o.local"
AUDIENCE = "o2o-mobility"
KEY_ID = "o2o-dev-1"


class DevKeys:
    """A key pair stored as `<folder>/dev-key.pem` and `<folder>/jwks.json`, made on first use."""

    def __init__(self, folder: Path = LOCAL_DIR):
        self.folder = Path(folder)
        self.private_key_path = self.folder / "dev-key.pem"
        self.jwks_path = self.folder / "jwks.json"

    def ensure(self) -> "DevKeys":
        """Create the key pair and JWKS unless both exist already (safe when processes race to do it)."""
        if self.private_key_path.exists() and self.jwks_path.exists():
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".dev-key.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # a test worker and a stack starting at once make one pair
            if not (self.private_key_path.exists() and self.jwks_path.exists()):
                self._create()
        return self

    def _create(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        self.private_key_path.write_bytes(pem)
        self.private_key_path.chmod(0o600)
        public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
        public_jwk.update({"kid": KEY_ID, "use": "sig", "alg": "RS256"})
        self.jwks_path.write_text(json.dumps({"keys": [public_jwk]}, indent=2))

    def token(self, role: str, sub: str, approver: bool = False, ttl_s: int = 12 * 3600,
              issuer: str = ISSUER, audience: str = AUDIENCE, **claims: Any) -> str:
        """A signed RS256 token for `sub` in `role`, valid for `ttl_s` seconds."""
        self.ensure()
        now = int(time.time())
        payload = {"sub": sub, "role": role, "iss": issuer, "aud": audience, "iat": now, "exp": now + ttl_s, **claims}
        if approver:
            payload["approver"] = True
        return self.sign(payload)

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign exactly `claims` (tests use it for tokens `token()` would not make)."""
        self.ensure()
        return jwt.encode(claims, _private_key(self.private_key_path.read_bytes()), algorithm="RS256",
                          headers={"kid": KEY_ID})


@lru_cache(maxsize=8)
def _private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """The parsed key (parsing a PEM costs ~75 ms; tests sign thousands of tokens)."""
    return serialization.load_pem_private_key(pem, password=None)
