"""The console pages for cameos load for staff, and granting a rights holder goes through the service."""

from __future__ import annotations

import pytest
from django.test import Client

from cameos.models import RightsHolder, RoyaltyEntry
from cameos.services import royalty_charge
from tests.cameos.factories import AppearanceFactory, CameoFactory, CharacterFactory, RequestFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    admin = UserFactory(is_staff=True)
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


def test_console_pages_load(console):
    cameo = CameoFactory()
    AppearanceFactory(cameo=cameo)
    RequestFactory(cameo=cameo)
    character = CharacterFactory()
    royalty_charge(job_id=1, cameo=character, creator=UserFactory())
    for url in (
        "/console/cameos/cameo/",
        f"/console/cameos/cameo/{cameo.pk}/change/",
        f"/console/cameos/cameo/{character.pk}/change/",
        "/console/cameos/cameoappearance/",
        "/console/cameos/cameorequest/",
        "/console/cameos/cameochallenge/",
        "/console/cameos/royaltyentry/",
        "/console/cameos/rightsholder/",
    ):
        assert console.get(url).status_code == 200, url
    # The ledger is append-only in the console too.
    entry = RoyaltyEntry.objects.first()
    assert console.post(f"/console/cameos/royaltyentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_granting_a_rights_holder_in_the_console(console):
    studio = UserFactory()
    response = console.post(
        "/console/cameos/rightsholder/add/", {"user": studio.pk, "organisation": "  Acme  ", "is_active": "on"}
    )
    assert response.status_code == 302
    assert RightsHolder.objects.get(user=studio).organisation == "Acme"
