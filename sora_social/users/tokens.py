"""Token secrets: generated with `secrets`, stored only as SHA-256 digests.

The secrets have 256 bits of entropy, so an unsalted fast hash is enough: nobody can brute
force them, and a fast hash keeps authentication one indexed lookup.
"""

import hashlib
import secrets

TOKEN_PREFIX = "ss_"


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
