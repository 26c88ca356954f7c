"""Standard Webhooks signatures (https://www.standardwebhooks.com/), as OpenAI's webhooks use.

Plain module, no Django. The secret is `whsec_` + base64 of 32 random bytes; each delivery is
signed with HMAC-SHA256 over `<webhook-id>.<webhook-timestamp>.<body>` and sent as
`webhook-signature: v1,<base64 signature>`. A receiver verifies with any Standard Webhooks
library (the tests use the `standardwebhooks` package) and refuses timestamps far from now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header's value for one delivery attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(*, secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
    }
