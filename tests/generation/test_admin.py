"""The generation console pages load for staff and let nobody edit videos, jobs or the ledger."""

import pytest

from generation import credits
from generation.models import CreditEntry, GenerationJob
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_superusers_can_read_but_not_change(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    video = VideoFactory()
    job = GenerationJob.objects.create(
        user=video.created_by, prompt="p", seed=1, seconds=4, width=720, height=1280, backend="embedded", model=""
    )
    credits.credits_purchase(user=video.created_by, amount=3, receipt_id="r-admin")
    entry = CreditEntry.objects.get()
    for url in (
        "/console/generation/video/",
        f"/console/generation/video/{video.pk}/change/",
        "/console/generation/generationjob/",
        f"/console/generation/generationjob/{job.pk}/change/",
        "/console/generation/creditentry/",
    ):
        assert client.get(url).status_code == 200, url
    # Posting a change does nothing: the pages are read-only.
    response = client.post(f"/console/generation/video/{video.pk}/change/", {"status": "taken_down"})
    assert response.status_code == 403
    video.refresh_from_db()
    assert video.status == "ready"
    assert client.post(f"/console/generation/creditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert CreditEntry.objects.filter(pk=entry.pk).exists()
