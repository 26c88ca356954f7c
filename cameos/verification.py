"""The worker's half of creating a cameo: examine the clip, then activate or reject the cameo.

`cameo_verify` is idempotent: it does nothing to a cameo that is no longer pending, so a
redelivered task or a retry is harmless. The heavy work (decoding, detection) runs outside any
transaction; only the final write locks the cameo row.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from cameos import constants, storage, vision
from cameos.models import Cameo, CameoKind, CameoReference, CameoStatus

logger = logging.getLogger(__name__)

MAX_FACE_REFERENCES = 4
MAX_FRAME_REFERENCES = 3


class Refused(Exception):
    def __init__(self, code: str, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.report = report


@dataclass
class Examination:
    report: dict[str, Any]
    references: list[tuple[str, Any, float]] = field(default_factory=list)  # (role, RGB image, score)
    embedding: list[float] = field(default_factory=list)


def faces_shown(clip: vision.DecodedClip, faces: vision.FaceScan) -> list[tuple[float, float]]:
    """(time, size) of every scanned frame showing a face of meaningful size (a likeness)."""
    shown = []
    for idx, box in zip(faces.scanned, faces.boxes, strict=True):
        if box is None:
            continue
        size = vision.face_side_fraction(box, clip.width, clip.height)
        if size >= constants.non_person_face_min_side():
            shown.append((clip.times[idx], size))
    return shown


def non_person_clip_check(data: bytes) -> None:
    """At upload, for a clip with no challenge (the characters API): refuse at once, with 422
    `person_in_clip`, a pet, object or character clip that shows a face in any scanned frame,
    rather than accept it and reject it on the worker. The worker checks again all the same."""
    from sora_social.common.errors import ApplicationError

    try:
        clip = vision.decode_clip(
            data, max_seconds=constants.max_clip_seconds(), sample_fps=constants.non_person_scan_fps()
        )
    except vision.ClipError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    shown = faces_shown(clip, vision.scan_all_faces(clip))
    if shown:
        raise ApplicationError(
            "person_in_clip",
            f"The clip shows a person's face (first at {shown[0][0]:.1f} s, in {len(shown)} of {len(clip.frames)} "
            "frames). A person can only appear through their own person cameo; record the pet, object or "
            "character alone.",
            status_code=422,
        )


def _examine(cameo: Cameo) -> Examination:
    report: dict[str, Any] = {"kind": cameo.kind}
    with storage.open_file(cameo.clip_path) as handle:
        data = handle.read()
    max_seconds = constants.max_clip_seconds()
    # A pet, object or character clip is scanned densely: any frame showing a face refuses it.
    sample_fps = 4.0 if cameo.kind == CameoKind.PERSON else constants.non_person_scan_fps()
    try:
        clip = vision.decode_clip(data, max_seconds=max_seconds, sample_fps=sample_fps)
    except vision.ClipError as exc:
        message = exc.message
        if exc.code == "not_a_video":
            message = "That file is not a video we can read. Record a clip with the camera and upload that."
        raise Refused(exc.code, message, report) from exc
    report.update(
        frames_decoded=clip.frames_decoded,
        frames_kept=len(clip.frames),
        duration_s=round(clip.duration_s, 3),
        width=clip.width,
        height=clip.height,
    )

    short_side = min(clip.width, clip.height)
    if short_side < constants.min_short_side():
        raise Refused(
            "resolution_too_low",
            f"The clip is {clip.width}x{clip.height}; record at least {constants.min_short_side()} pixels "
            "on its shorter side.",
            report,
        )

    card_frames: tuple[int, ...] = ()
    if cameo.challenge_id is not None:
        challenge = cameo.challenge
        scan = vision.scan_challenge(clip)
        card_frames = scan.frames_with_code
        expected = vision.challenge_payload(challenge.pk, challenge.code)
        report["challenge_frames"] = [round(clip.times[i], 2) for i in scan.frames_with_code]
        if expected in scan.payloads:
            report["challenge"] = "shown"
            card_frames = tuple(i for i in scan.frames_with_code)
        elif any(vision.parse_payload(p) for p in scan.payloads):
            report["challenge"] = "other_challenge"
            raise Refused(
                "challenge_reused",
                "This clip shows the code of another, earlier attempt. Record a new clip showing the code "
                "you were just given.",
                report,
            )
        else:
            report["challenge"] = "not_found"
            raise Refused(
                "challenge_not_shown",
                "We could not find the code card in the clip. Hold the card (or the screen showing it) to the "
                "camera for about a second at the start or the end.",
                report,
            )
    else:
        report["challenge"] = "not_required"

    if cameo.kind == CameoKind.PERSON:
        faces = vision.scan_faces(clip, skip=card_frames)
    else:
        faces = vision.scan_all_faces(clip, skip=card_frames)
    sizes = [vision.face_side_fraction(box, clip.width, clip.height) for box in faces.boxes if box]
    report.update(
        frames_scanned_for_faces=len(faces.boxes),
        face_frames=faces.face_frames,
        face_fraction=round(faces.fraction, 3),
        largest_face_side=round(max(sizes, default=0.0), 3),
        detector="nudenet-320n FACE_*",
    )
    if cameo.kind == CameoKind.PERSON and faces.fraction < constants.min_face_fraction():
        raise Refused(
            "no_face",
            f"We saw a face in only {faces.face_frames} of {len(faces.boxes)} frames. Face the camera in good "
            "light and keep your whole face in the frame.",
            report,
        )
    if cameo.kind != CameoKind.PERSON:
        shown = faces_shown(clip, faces)
        if shown:
            report["face_at_s"] = [round(t, 2) for t, _ in shown]
            raise Refused(
                "person_in_clip",
                f"We saw a person's face in {len(shown)} of {len(faces.boxes)} frames (first at "
                f"{shown[0][0]:.1f} s). A person can only appear through their own person cameo; record the "
                "pet, object or character alone.",
                report,
            )

    exam = Examination(report=report)
    if cameo.kind == CameoKind.PERSON:
        found = [(box.score, idx, box) for idx, box in zip(faces.scanned, faces.boxes, strict=True) if box]
        for score, idx, box in sorted(found, key=lambda t: -t[0])[:MAX_FACE_REFERENCES]:
            exam.references.append((CameoReference.Role.FACE, vision.crop_face(clip.frames[idx], box), score))
    else:
        # Never a frame where the detector saw any face, however small, as a reference.
        with_face = {idx for idx, box in zip(faces.scanned, faces.boxes, strict=True) if box}
        usable = [i for i in range(len(clip.frames)) if i not in set(card_frames) and i not in with_face]
        if not usable and with_face:
            raise Refused(
                "person_in_clip",
                "Every frame of the clip shows a face. Record the pet, object or character alone.",
                report,
            )
        for pos in vision.evenly_spaced(len(usable), MAX_FRAME_REFERENCES):
            exam.references.append((CameoReference.Role.FRAME, vision.center_crop(clip.frames[usable[pos]]), 0.0))
    if not exam.references:  # only card frames: nothing shows the subject
        raise Refused("challenge_not_shown", "The clip shows only the code card; record the subject too.", report)
    exam.embedding = vision.appearance_embedding([image for _, image, _ in exam.references])
    report["references"] = len(exam.references)
    return exam


def cameo_verify(*, cameo_id: int) -> Cameo | None:
    """Examine a pending cameo's clip and activate or reject it. Idempotent."""
    cameo = Cameo.objects.select_related("challenge", "owner").filter(pk=cameo_id).first()
    if cameo is None or cameo.status != CameoStatus.PENDING:
        return cameo
    try:
        exam = _examine(cameo)
    except Refused as refusal:
        return _reject(cameo_id=cameo_id, code=refusal.code, message=refusal.message, report=refusal.report)

    folder = posixpath.dirname(cameo.clip_path)
    saved: list[tuple[str, str, int, int]] = []
    try:
        for index, (role, image, _score) in enumerate(exam.references):
            path = storage.save(f"{folder}/ref-{index:02d}.png", vision.encode_png(image))
            saved.append((role, path, image.shape[1], image.shape[0]))
        return _activate(cameo_id=cameo_id, exam=exam, saved=saved)
    except Exception:
        storage.delete_quietly([path for _, path, _, _ in saved])
        raise


@transaction.atomic
def _activate(*, cameo_id: int, exam: Examination, saved: list[tuple[str, str, int, int]]) -> Cameo:
    cameo = Cameo.objects.select_for_update().get(pk=cameo_id)
    if cameo.status != CameoStatus.PENDING:  # deleted (or verified by a twin task) meanwhile
        paths = [path for _, path, _, _ in saved]
        transaction.on_commit(lambda: storage.delete_quietly(paths))
        return cameo
    CameoReference.objects.filter(cameo=cameo).delete()
    CameoReference.objects.bulk_create(
        CameoReference(cameo=cameo, role=role, index=i, path=path, width=w, height=h, is_primary=i == 0)
        for i, (role, path, w, h) in enumerate(saved)
    )
    cameo.status = CameoStatus.ACTIVE
    cameo.embedding = exam.embedding
    cameo.embedding_version = vision.EMBEDDING_VERSION
    cameo.verification = exam.report
    cameo.verified_at = timezone.now()
    cameo.rejection_code = cameo.rejection_reason = ""
    cameo.save()
    logger.info("cameo %s verified: %s", cameo_id, exam.report)
    _tell_owner(cameo, outcome="active", detail=": you can use it now and choose who else may.")
    return cameo


@transaction.atomic
def _reject(*, cameo_id: int, code: str, message: str, report: dict[str, Any]) -> Cameo:
    cameo = Cameo.objects.select_for_update().get(pk=cameo_id)
    if cameo.status != CameoStatus.PENDING:
        return cameo
    cameo.status = CameoStatus.REJECTED
    cameo.rejection_code = code
    cameo.rejection_reason = message[:300]
    cameo.verification = {**report, "refused": code}
    cameo.save()
    logger.info("cameo %s rejected (%s): %s", cameo_id, code, report)
    _tell_owner(cameo, outcome="not verified", detail=f" ({code}): {message}")
    return cameo


def _tell_owner(cameo: Cameo, *, outcome: str, detail: str) -> None:
    from sora_social.notifications.services import notify

    notify(
        recipient=cameo.owner,
        kind="cameo_verification",
        data={
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name or cameo.name,
            "status": cameo.status,
            "outcome": outcome,
            "detail": detail,
            "code": cameo.rejection_code,
        },
        target=("cameo", cameo.pk),
    )
