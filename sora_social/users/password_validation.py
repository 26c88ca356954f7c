"""Password rules beyond Django's own list (configured in settings.AUTH_PASSWORD_VALIDATORS).

Django's CommonPasswordValidator looks the password up verbatim, so a common password
doubled ("passwordpassword") or dressed with a capital and a few digits ("Password123!")
passes it; these are the first guesses of any credential-stuffing list.
"""

from __future__ import annotations

import re

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

_EDGE_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def _repeated_unit(text: str) -> str:
    """The shortest string whose repetition is `text` ("abcabc" -> "abc"), or `text`."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return text


def common_password_candidates(password: str) -> set[str]:
    """The password and the undecorated forms a guesser would try it as."""
    lowered = password.lower().strip()
    stripped = _EDGE_DECORATION.sub("", lowered)
    candidates = {lowered, stripped, _repeated_unit(lowered), _repeated_unit(stripped)}
    return {candidate for candidate in candidates if candidate}


class CommonPasswordVariantValidator(CommonPasswordValidator):
    """Refuses a common password even when repeated or wrapped in digits and symbols."""

    def validate(self, password: str, user=None) -> None:
        if any(candidate in self.passwords for candidate in common_password_candidates(password)):
            raise ValidationError(self.get_error_message(), code="password_too_common")
