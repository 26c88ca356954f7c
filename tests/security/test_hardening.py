"""Regression tests for the holes an attack on a live server found (issue 15, item 5).

Each input that crashed the server (500) or was wrongly accepted is sent again here through
the public API and must be refused with a 4xx in the error shape.
"""

from __future__ import annotations

import pytest

from sora_social.users.models import User

pytestmark = pytest.mark.django_db

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


# --- passwords ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "password"),
    [
        ("olivia_smith", "passwordpassword"),  # a common password, doubled
        ("olivia_smith", "Password123!"),  # a common password, decorated
        ("olivia_smith", "olivia_smith99"),  # the handle
        ("marcus.lee", "Marcus.Lee.2026"),  # the handle, recased and dated
    ],
)
def test_signup_refuses_common_and_handle_like_passwords(anon_client, handle, password):
    response = anon_client.post(
        SIGNUP, {"handle": handle, "password": password, "date_of_birth": "1990-05-06"}, format="json"
    )
    error = assert_error_shape(response, 400, "weak_password")
    assert error["fields"]["password"]
    assert not User.objects.filter(handle__iexact=handle).exists()


def test_signup_still_accepts_a_good_password(anon_client):
    response = anon_client.post(
        SIGNUP,
        {"handle": "olivia_smith", "password": "violet-lantern-harbor", "date_of_birth": "1990-05-06"},
        format="json",
    )
    assert response.status_code == 201, response.json()
