"""Characters, objects and pets carry no person: a face in any scanned frame refuses the clip, and
a frame where a face was seen is never a reference image."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from cameos import services, vision
from cameos.models import Cameo, CameoStatus
from cameos.verification import cameo_verify
from sora_social.common.errors import ApplicationError
from tests.cameos.factories import FPS, H, RightsHolderFactory, W, face_frames, object_frames, upload
from tests.users.factories import UserFactory

pytestmark = pytest.mark.django_db


def clip_with_faces(face_at: set[int], *, total: int = 24) -> bytes:
    """`total` frames (8 fps) of the object clip, with a drawn face instead at `face_at`."""
    objects, faces = object_frames(total / FPS), face_frames(total / FPS)
    return vision.encode_clip([faces[i] if i in face_at else objects[i] for i in range(total)], fps=FPS)


# Ten of 24 frames, every other one: a sampler at half the frame rate would see none of them.
TEN_OF_24 = {1, 3, 5, 7, 9, 11, 13, 15, 17, 19}


def post_character(api, data: bytes, name: str = "Blue Mug"):
    clip = SimpleUploadedFile("clip.mp4", data, content_type="video/mp4")
    return api.post("/v1/videos/characters", {"name": name, "video": clip}, format="multipart")


def test_a_character_clip_with_a_face_in_10_of_24_frames_is_refused_with_a_4xx(api, user):
    response = post_character(api, clip_with_faces(TEN_OF_24))
    assert response.status_code == 422, response.json()
    error = response.json()["error"]
    assert error["code"] == "person_in_clip" and "face" in error["message"]
    assert not Cameo.objects.filter(owner=user).exists()


def test_an_object_clip_is_accepted_and_verified_with_frame_references(api, user):
    response = post_character(api, clip_with_faces(set()))
    assert response.status_code == 200, response.json()
    cameo = Cameo.objects.get(pk=int(response.json()["id"].removeprefix("char_")))
    cameo_verify(cameo_id=cameo.pk)
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.ACTIVE, cameo.verification
    assert cameo.verification["face_frames"] == 0 and cameo.verification["frames_scanned_for_faces"] == 24


@pytest.mark.parametrize("kind", ["pet", "object"])
def test_the_worker_refuses_a_pet_or_object_clip_with_a_face_in_10_of_24_frames(kind):
    owner = UserFactory()
    challenge = services.challenge_create(owner=owner, kind=kind, name="rex")
    card = [vision.render_challenge_card(vision.challenge_payload(challenge.pk, challenge.code), side=H)] * FPS
    card = [np.pad(c, ((0, 0), ((W - H) // 2, (W - H) // 2), (0, 0)), constant_values=255) for c in card]
    objects, faces = object_frames(3), face_frames(3)
    body = [faces[i] if i in TEN_OF_24 else objects[i] for i in range(24)]
    cameo = services.cameo_submit(
        owner=owner, clip=upload(vision.encode_clip(body + card, fps=FPS)), challenge_id=challenge.pk
    )
    cameo_verify(cameo_id=cameo.pk)
    cameo.refresh_from_db()
    assert (cameo.status, cameo.rejection_code) == (CameoStatus.REJECTED, "person_in_clip")
    assert cameo.verification["face_frames"] >= 8 and not cameo.references.exists()


def test_a_rights_holders_character_with_a_face_is_refused_too():
    studio = RightsHolderFactory().user
    with pytest.raises(ApplicationError) as refusal:
        services.cameo_submit(owner=studio, clip=upload(clip_with_faces({12})), kind="character", name="captain")
    assert (refusal.value.code, refusal.value.status_code) == ("person_in_clip", 422)


def test_a_frame_where_a_face_was_seen_is_never_a_reference(settings):
    # Faces below the refusal size are let through (here: every face), but never as a reference.
    settings.CAMEO_NON_PERSON_FACE_MIN_SIDE = 2.0
    owner = UserFactory()
    cameo = services.cameo_submit(
        owner=owner, clip=upload(clip_with_faces(set(range(0, 24, 2)))), kind="object", name="mug"
    )
    cameo_verify(cameo_id=cameo.pk)
    cameo.refresh_from_db()
    assert cameo.status == CameoStatus.ACTIVE, cameo.verification
    assert cameo.verification["face_frames"] >= 10
    references = list(cameo.references.all())
    assert len(references) == 3
    for reference in references:
        with default_storage.open(reference.path, "rb") as handle:
            image = np.asarray(Image.open(handle).convert("RGB"))
        assert vision.detect_faces([image]) == [None]
