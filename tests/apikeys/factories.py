from __future__ import annotations

from rest_framework.test import APIClient

from sora_social.apikeys.models import ApiKey
from sora_social.apikeys.services import api_key_create


def key_client(user, *, scopes=("videos",), **quota) -> tuple[APIClient, ApiKey, str]:
    """An APIClient sending a fresh API key of `user` (made through the service)."""
    key, secret = api_key_create(user=user, name="test app", scopes=list(scopes), **quota)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client, key, secret
