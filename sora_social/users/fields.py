"""Request fields whose schema states the rule the server applies (handles, passwords, zones)."""

from __future__ import annotations

import re
import zoneinfo

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sora_social.common.errors import ApplicationError
from sora_social.users.models import HANDLE_PATTERN, handle_validator

# The IANA zones this server knows.
TIMEZONES = frozenset(zoneinfo.available_timezones())

# A handle as a client may write it: the handle rule, with an optional "@" in front.
HANDLE_INPUT_PATTERN = "^@?" + HANDLE_PATTERN.removeprefix("^")

PASSWORD_MIN_LENGTH = next(
    validator.get("OPTIONS", {}).get("min_length", 8)
    for validator in settings.AUTH_PASSWORD_VALIDATORS
    if validator["NAME"].endswith("MinimumLengthValidator")
)
PASSWORD_MAX_LENGTH = 128


@extend_schema_field({"type": "string", "maxLength": 31, "pattern": HANDLE_INPUT_PATTERN})
class HandleField(serializers.CharField):
    """A handle, checked against the pattern the schema gives (400 invalid_handle). Not trimmed:
    the pattern has no room for spaces, so the server takes none either."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=31, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        if not re.fullmatch(HANDLE_INPUT_PATTERN, value):
            # The project's code for it, as the services raise it (not DRF's generic "invalid").
            raise ApplicationError(
                "invalid_handle", handle_validator.message, fields={self.field_name: [handle_validator.message]}
            )
        return value


@extend_schema_field(
    {"type": "string", "minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH, "writeOnly": True}
)
class NewPasswordField(serializers.CharField):
    """A new password. The schema gives the validators' minimum length; a shorter one, like a
    common or all-digit one, is refused by Django's password validators (422 weak_password)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=PASSWORD_MAX_LENGTH, write_only=True, trim_whitespace=False, **kwargs)


class TimezoneField(serializers.CharField):
    """An IANA zone name, e.g. Europe/Paris. Not an enum in the schema: some 600 names, several
    that client generators cannot tell apart (GMT0, GMT+0, GMT-0); an unknown one is a 422
    invalid_timezone."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=64, **kwargs)
