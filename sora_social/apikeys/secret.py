"""Key secrets: `sk-` + 256 random bits, stored only as a SHA-256 digest (see users.tokens)."""

import secrets

from sora_social.users.tokens import token_digest

KEY_PREFIX = "sk-"
SHOWN_PREFIX_CHARS = 10  # "sk-" and 7 characters: enough to tell keys apart in a list


def new_key_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(secret: str) -> str:
    return token_digest(secret)
