"""Factories and media helpers for the cameos tests."""

from __future__ import annotations

import factory
import numpy as np
from django.utils import timezone

from cameos import vision
from cameos.models import (
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoAudience,
    CameoKind,
    CameoRequest,
    CameoStatus,
    CharacterLicence,
    RightsHolder,
)
from tests.users.factories import UserFactory


class CameoFactory(factory.django.DjangoModelFactory):
    """An active, verified cameo (the verification flow has its own tests)."""

    class Meta:
        model = Cameo

    owner = factory.SubFactory(UserFactory)
    kind = CameoKind.PERSON
    name = factory.Sequence(lambda n: f"cameo{n}")
    display_name = factory.LazyAttribute(lambda o: o.name.title())
    status = CameoStatus.ACTIVE
    audience = CameoAudience.EVERYONE
    verified_at = factory.LazyFunction(timezone.now)


class RightsHolderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RightsHolder

    user = factory.SubFactory(UserFactory)
    organisation = "Acme Pictures"


class CharacterFactory(CameoFactory):
    """A character with a licence; set its terms with licence__fee_credits=... etc."""

    class Meta:
        model = Cameo
        skip_postgeneration_save = True

    kind = CameoKind.CHARACTER
    owner = factory.LazyFunction(lambda: RightsHolderFactory().user)
    licence = factory.RelatedFactory(
        "tests.cameos.factories.LicenceFactory", factory_related_name="cameo", fee_credits=10
    )


class LicenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CharacterLicence

    cameo = factory.SubFactory(CharacterFactory)
    fee_credits = 10
    rights_holder_share_bps = 7000


class AccessEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CameoAccessEntry

    cameo = factory.SubFactory(CameoFactory)
    user = factory.SubFactory(UserFactory)
    effect = CameoAccessEntry.Effect.ALLOW


class RequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CameoRequest

    cameo = factory.SubFactory(CameoFactory)
    requester = factory.SubFactory(UserFactory)


class AppearanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CameoAppearance

    cameo = factory.SubFactory(CameoFactory)
    creator = factory.SubFactory(UserFactory)
    video_id = factory.Sequence(lambda n: 10_000 + n)


# --- clips -------------------------------------------------------------------------------------

W, H, FPS = 640, 480, 8


def card_frame(challenge_id: int, code: str) -> np.ndarray:
    """A full frame showing the challenge card, as a phone held up to the camera would."""
    card = vision.render_challenge_card(vision.challenge_payload(challenge_id, code), side=H)
    frame = np.full((H, W, 3), 255, np.uint8)
    left = (W - H) // 2
    frame[:, left : left + H] = card
    return frame


def face_frames(seconds: float = 3.0) -> list[np.ndarray]:
    """A drawn head turning a little and moving closer and back."""
    count = int(seconds * FPS)
    return [
        vision.draw_face(width=W, height=H, scale=0.5 + 0.15 * (i % 4) / 3, cx=W // 2 + int(30 * np.sin(i / 3)))
        for i in range(count)
    ]


def object_frames(seconds: float = 3.0) -> list[np.ndarray]:
    """A red mug-like shape on a table, slowly turning (no face)."""
    import cv2

    frames = []
    for i in range(int(seconds * FPS)):
        img = np.full((H, W, 3), (200, 190, 170), np.uint8)
        cv2.rectangle(img, (0, 330), (W, H), (120, 80, 50), -1)
        w = 90 + int(10 * np.sin(i / 4))
        cv2.rectangle(img, (W // 2 - w, 170), (W // 2 + w, 340), (200, 30, 40), -1)
        cv2.ellipse(img, (W // 2 + w + 25, 255), (35, 50), 0, 0, 360, (200, 30, 40), 12)
        frames.append(img)
    return frames


def clip_bytes(
    *,
    challenge=None,
    subject: str = "face",
    seconds: float = 3.0,
    card_at: str = "end",
    size: tuple[int, int] | None = None,
) -> bytes:
    """An H.264 MP4: the subject for `seconds`, with the challenge card for a second at the start
    or the end (card_at "none" leaves it out)."""
    import cv2

    frames = face_frames(seconds) if subject == "face" else object_frames(seconds)
    if challenge is not None and card_at != "none":
        card = [card_frame(challenge.pk, challenge.code)] * FPS
        frames = card + frames if card_at == "start" else frames + card
    if size is not None:
        frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
    return vision.encode_clip(frames, fps=FPS)


def upload(data: bytes, name: str = "clip.mp4"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="video/mp4")
