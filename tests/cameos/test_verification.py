"""Creating a cameo: the challenge, the upload's cheap checks, the worker's verification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from cameos import services
from cameos.models import CameoChallenge, CameoReference, CameoStatus
from cameos.verification import cameo_verify
from sora_social.common.errors import ApplicationError
from sora_social.notifications.models import Notification
from tests.cameos.factories import CameoFactory, RightsHolderFactory, clip_bytes, upload
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def submit(owner, data: bytes, challenge=None, **kwargs):
    return services.cameo_submit(
        owner=owner, clip=upload(data), challenge_id=challenge.pk if challenge else None, **kwargs
    )


def verified(cameo):
    cameo_verify(cameo_id=cameo.pk)
    cameo.refresh_from_db()
    return cameo


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def person_challenge(owner):
    return services.challenge_create(owner=owner, kind="person", name="ava", display_name="Ava")


def test_a_person_clip_with_a_face_and_the_card_activates_the_cameo(owner, person_challenge):
    cameo = submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    assert cameo.status == CameoStatus.PENDING
    person_challenge.refresh_from_db()
    assert person_challenge.used_at is not None

    cameo = verified(cameo)

    assert cameo.status == CameoStatus.ACTIVE, cameo.verification
    assert (cameo.kind, cameo.name, cameo.display_name) == ("person", "ava", "Ava")
    assert cameo.verification["challenge"] == "shown"
    assert cameo.verification["face_fraction"] >= 0.6
    assert cameo.verification["duration_s"] == pytest.approx(4.0, abs=0.01)
    refs = list(CameoReference.objects.filter(cameo=cameo).order_by("index"))
    assert len(refs) == 4 and [r.role for r in refs] == ["face"] * 4
    assert [r.is_primary for r in refs] == [True, False, False, False]
    for ref in refs:
        assert ref.path.startswith(f"private/cameos/{owner.pk}/")
        with default_storage.open(ref.path, "rb") as handle, Image.open(handle) as image:
            assert (image.format, image.size) == ("PNG", (256, 256))
    assert len(cameo.embedding) == 384 and cameo.embedding_version == "cameo-appearance-v1"
    told = Notification.objects.get(recipient=owner, kind="cameo_verification")
    assert told.data["status"] == "active" and "Ava is active" in told.text


def test_the_card_may_come_first(owner, person_challenge):
    cameo = verified(submit(owner, clip_bytes(challenge=person_challenge, card_at="start"), person_challenge))
    assert cameo.status == CameoStatus.ACTIVE
    assert min(cameo.verification["challenge_frames"]) < 1.0


# --- refusals, each with its own code ---------------------------------------------------------


def test_a_file_that_is_not_a_video_is_refused_at_upload_and_the_challenge_stays_unused(owner, person_challenge):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 4000
    with pytest.raises(ApplicationError) as refusal:
        services.cameo_submit(owner=owner, clip=upload(png, name="clip.mp4"), challenge_id=person_challenge.pk)
    assert refusal.value.code == "not_a_video"
    person_challenge.refresh_from_db()
    assert person_challenge.used_at is None


def test_a_stored_clip_that_no_longer_decodes_is_rejected_by_the_worker(owner, person_challenge):
    cameo = submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    default_storage.delete(cameo.clip_path)
    default_storage.save(cameo.clip_path, __import__("io").BytesIO(b"not a video at all" * 100))
    cameo = verified(cameo)
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "not_a_video")


def test_a_clip_over_ten_seconds_is_refused(owner, person_challenge):
    with pytest.raises(ApplicationError) as refusal:
        submit(owner, clip_bytes(challenge=person_challenge, subject="object", seconds=11.0), person_challenge)
    assert refusal.value.code == "clip_too_long"


def test_the_worker_measures_the_duration_itself(owner, person_challenge, settings):
    cameo = submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    settings.CAMEO_MAX_CLIP_SECONDS = 3.0  # the 4 s clip passed at upload; decoding counts it again
    cameo = verified(cameo)
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "clip_too_long")
    assert "3 seconds" in cameo.rejection_reason


def test_a_person_clip_with_no_face_is_rejected(owner, person_challenge):
    cameo = verified(submit(owner, clip_bytes(challenge=person_challenge, subject="object"), person_challenge))
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "no_face")
    assert "Face the camera" in cameo.rejection_reason
    assert cameo.verification["face_frames"] == 0
    assert not CameoReference.objects.filter(cameo=cameo).exists()
    told = Notification.objects.get(recipient=owner, kind="cameo_verification")
    assert told.data["code"] == "no_face" and "not verified (no_face)" in told.text


def test_an_expired_code_is_refused(owner, person_challenge):
    CameoChallenge.objects.filter(pk=person_challenge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as refusal:
        submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    assert refusal.value.code == "challenge_expired"


def test_a_reused_code_is_refused(owner, person_challenge):
    data = clip_bytes(challenge=person_challenge)
    cameo = submit(owner, data, person_challenge)
    cameo.status = CameoStatus.REJECTED  # even after a failed attempt, a code is good for one upload
    cameo.save()
    with pytest.raises(ApplicationError) as refusal:
        submit(owner, data, person_challenge)
    assert (refusal.value.code, refusal.value.status_code) == ("challenge_reused", 409)


def test_a_clip_showing_an_earlier_challenges_code_is_rejected_as_reused(owner):
    old = services.challenge_create(owner=owner, kind="person", name="ava")
    new = services.challenge_create(owner=owner, kind="person", name="ava")
    cameo = verified(submit(owner, clip_bytes(challenge=old), new))  # a replayed recording
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "challenge_reused")
    assert cameo.verification["challenge"] == "other_challenge"


def test_a_clip_without_the_card_is_rejected(owner, person_challenge):
    cameo = verified(submit(owner, clip_bytes(challenge=person_challenge, card_at="none"), person_challenge))
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "challenge_not_shown")


def test_a_low_resolution_clip_is_rejected(owner, person_challenge):
    data = clip_bytes(challenge=person_challenge, size=(320, 240))
    cameo = verified(submit(owner, data, person_challenge))
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "resolution_too_low")
    assert "320x240" in cameo.rejection_reason


def test_an_oversized_frame_is_refused_at_upload(owner, person_challenge, settings):
    settings.CAMEO_MAX_SIDE = 600
    with pytest.raises(ApplicationError) as refusal:
        submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    assert refusal.value.code == "resolution_too_high" and "640x480" in refusal.value.message


def test_someone_elses_challenge_is_not_found(owner, person_challenge):
    with pytest.raises(ApplicationError) as refusal:
        submit(UserFactory(), clip_bytes(challenge=person_challenge), person_challenge)
    assert refusal.value.code == "challenge_not_found"


# --- other kinds -------------------------------------------------------------------------------


def test_an_object_clip_activates_with_frame_references(owner):
    challenge = services.challenge_create(owner=owner, kind="object", name="red-mug")
    cameo = verified(submit(owner, clip_bytes(challenge=challenge, subject="object"), challenge))
    assert cameo.status == CameoStatus.ACTIVE, cameo.verification
    assert list(cameo.references.values_list("role", flat=True)) == ["frame"] * 3


def test_a_pet_clip_that_shows_a_persons_face_is_refused(owner):
    challenge = services.challenge_create(owner=owner, kind="pet", name="rex")
    cameo = verified(submit(owner, clip_bytes(challenge=challenge), challenge))
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "person_in_clip")


def test_without_a_challenge_only_non_person_cameos_are_accepted(owner):
    with pytest.raises(ApplicationError) as refusal:
        submit(owner, clip_bytes(), kind="person", name="me")
    assert refusal.value.code == "challenge_required"
    cameo = verified(submit(owner, clip_bytes(subject="object"), kind="object", name="mug"))
    assert cameo.status == CameoStatus.ACTIVE
    assert cameo.verification["challenge"] == "not_required"


def test_a_character_needs_a_rights_holder_and_gets_a_free_licence(owner):
    with pytest.raises(ApplicationError) as refusal:
        services.challenge_create(owner=owner, kind="character", name="captain")
    assert refusal.value.code == "not_a_rights_holder"
    studio = RightsHolderFactory().user
    cameo = verified(submit(studio, clip_bytes(subject="object"), kind="character", name="captain"))
    assert cameo.status == CameoStatus.ACTIVE
    assert cameo.licence.fee_credits == 0


def test_one_person_cameo_per_user_and_names_are_unique(owner, person_challenge):
    verified(submit(owner, clip_bytes(challenge=person_challenge), person_challenge))
    with pytest.raises(ApplicationError) as refusal:
        services.challenge_create(owner=owner, kind="person", name="ava2")
    assert refusal.value.code == "person_cameo_exists"
    with pytest.raises(ApplicationError) as refusal:
        services.challenge_create(owner=owner, kind="pet", name="AVA")
    assert refusal.value.code == "cameo_name_taken"


def test_a_rejected_or_deleted_person_cameo_frees_the_slot(owner):
    cameo = CameoFactory(owner=owner, kind="person", name="ava", status=CameoStatus.REJECTED)
    assert services.challenge_create(owner=owner, kind="person", name="ava")
    cameo.status = CameoStatus.ACTIVE
    cameo.save()
    services.cameo_delete(cameo=cameo, actor=owner)
    assert services.challenge_create(owner=owner, kind="person", name="ava")


def test_challenges_are_rate_limited(owner, settings):
    settings.CAMEO_CHALLENGES_PER_HOUR = 2
    services.challenge_create(owner=owner, kind="pet", name="rex")
    services.challenge_create(owner=owner, kind="pet", name="rex")
    with pytest.raises(ApplicationError) as refusal:
        services.challenge_create(owner=owner, kind="pet", name="rex")
    assert (refusal.value.code, refusal.value.status_code) == ("too_many_challenges", 429)


def test_verification_is_idempotent(owner, person_challenge):
    cameo = verified(submit(owner, clip_bytes(challenge=person_challenge), person_challenge))
    refs = list(CameoReference.objects.filter(cameo=cameo).values_list("pk", flat=True))
    again = cameo_verify(cameo_id=cameo.pk)
    assert again.status == CameoStatus.ACTIVE
    assert list(CameoReference.objects.filter(cameo=cameo).values_list("pk", flat=True)) == refs
    assert cameo_verify(cameo_id=999_999_999) is None


def test_a_cameo_deleted_before_verification_stays_deleted(owner, person_challenge):
    cameo = submit(owner, clip_bytes(challenge=person_challenge), person_challenge)
    services.cameo_delete(cameo=cameo, actor=owner)
    assert cameo_verify(cameo_id=cameo.pk).status == CameoStatus.REVOKED
    assert not CameoReference.objects.filter(cameo=cameo).exists()
