"""The password backend: Django's ModelBackend behind the per-account log-in backoff.

Every password log-in goes through here, the app's (`users.services.token_create`) and the
console's (Django admin's form) alike, so a locked account refuses both, and failures on
either count (users/login_backoff.py).
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from sora_social.users.login_backoff import login_backoff_clear, login_backoff_wait, login_failure_record


class LoginBackoffBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        handle = username if username is not None else kwargs.get(get_user_model().USERNAME_FIELD)
        if handle is None or password is None:
            return None
        handle = str(handle).lstrip("@")
        if login_backoff_wait(handle=handle):
            return None  # locked: the password is not even looked at
        user = super().authenticate(request, username=handle, password=password)
        if user is None:
            login_failure_record(handle=handle)
        else:
            login_backoff_clear(handle=handle)
        return user
