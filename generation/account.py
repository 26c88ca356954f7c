"""What generation exports and erases when a user leaves (registered on users.ports in
GenerationConfig).

Erasing runs after cameos (which took down every video showing the person's likeness, through
the cameos ports) and feed (which removed their posts): in-flight jobs are cancelled and
refunded; every video they made or uploaded is taken down and its files (MP4, thumbnail,
spritesheet) erased, and so are the files of every other video that shows one of their cameos;
jobs lose their prompts and input references. The rows stay as
tombstones: the credits ledger (append-only, `CreditEntry.job` is PROTECT) points at the jobs,
and a taken-down video's row keeps a re-upload of it recognisable.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from cameos.models import CameoAppearance
from generation import credits, jobs
from generation.models import IN_FLIGHT_STATUSES, CreditEntry, GenerationJob, Video, VideoRendition, VideoStatus
from generation.services import video_take_down
from sora_social.common.errors import ApplicationError
from sora_social.common.storage import delete_files_on_commit
from sora_social.users.models import User
from sora_social.users.ports import ExportFile, ExportSection

ERASE_REASON = "Its creator deleted their account."


@transaction.atomic
def generation_erase_for_account(*, user: User) -> dict[str, int]:
    cancelled = 0
    for job in GenerationJob.objects.filter(user=user, status__in=IN_FLIGHT_STATUSES).order_by("pk"):
        try:
            jobs.generation_job_cancel(job=job, actor=user, reason="The account was deleted.")
        except ApplicationError as exc:  # it finished meanwhile; its video is taken down below
            if exc.code != "job_already_finished":
                raise
            continue
        cancelled += 1

    taken_down = 0
    paths: list[str] = []
    videos = Video.objects.filter(created_by=user).select_related("rendition").order_by("pk")
    for video in videos:
        if video.status != VideoStatus.TAKEN_DOWN:
            video_take_down(video=video, reason=ERASE_REASON)
            taken_down += 1
        paths += [video.file.name, video.thumbnail.name]
        rendition = getattr(video, "rendition", None)
        if rendition is not None and rendition.spritesheet:
            paths.append(rendition.spritesheet.name)
    Video.objects.filter(created_by=user).update(file="", thumbnail="")
    VideoRendition.objects.filter(video__created_by=user).update(spritesheet="", watermark_text="")

    # Other people's videos that show the person (cameos took them down through its ports): their
    # bytes are erased too, so no copy of the likeness can be restored or handed out again. The
    # rows and their frame hashes stay, so a re-upload of a copy is still recognised.
    shown_in = set(CameoAppearance.objects.filter(cameo__owner=user).values_list("video_id", flat=True))
    likeness = Video.objects.filter(pk__in=shown_in).exclude(created_by=user).select_related("rendition")
    likeness_erased = 0
    for video in likeness.order_by("pk"):
        if video.status != VideoStatus.TAKEN_DOWN:
            video_take_down(video=video, reason="The person in this video deleted their account.")
        paths += [video.file.name, video.thumbnail.name]
        rendition = getattr(video, "rendition", None)
        if rendition is not None and rendition.spritesheet:
            paths.append(rendition.spritesheet.name)
        likeness_erased += 1
    Video.objects.filter(pk__in=shown_in).exclude(created_by=user).update(file="", thumbnail="")
    VideoRendition.objects.filter(video_id__in=shown_in).exclude(video__created_by=user).update(spritesheet="")

    own_jobs = GenerationJob.objects.filter(user=user)
    paths += [name for name in own_jobs.exclude(input_reference="").values_list("input_reference", flat=True)]
    scrubbed = own_jobs.update(
        prompt="", policy={}, input_reference="", idempotency_key="", request_fingerprint="", error_message=""
    )
    delete_files_on_commit(paths)
    return {
        "generation.jobs_cancelled": cancelled,
        "generation.videos_taken_down": taken_down,
        "generation.videos_erased": len(videos),
        "generation.likeness_videos_erased": likeness_erased,
        "generation.jobs_scrubbed": scrubbed,
    }


def generation_export_for_account(*, user: User) -> Iterable[ExportSection]:
    files: list[ExportFile] = []
    videos = []
    for video in Video.objects.filter(created_by=user).select_related("rendition").order_by("pk"):
        media: dict[str, str | None] = {"video": None, "thumbnail": None, "spritesheet": None}
        # Only what is still served: a video taken down (a cameo's owner withdrew their
        # likeness, moderation removed it) is listed, but its pixels are not handed out again.
        if video.status == VideoStatus.READY:
            if video.file:
                media["video"] = f"media/videos/{video.pk}.mp4"
                files.append(ExportFile(media["video"], video.file.name))
            if video.thumbnail:
                media["thumbnail"] = f"media/thumbnails/{video.pk}.jpg"
                files.append(ExportFile(media["thumbnail"], video.thumbnail.name))
            rendition = getattr(video, "rendition", None)
            if rendition is not None and rendition.spritesheet:
                media["spritesheet"] = f"media/spritesheets/{video.pk}.jpg"
                files.append(ExportFile(media["spritesheet"], rendition.spritesheet.name))
        videos.append(
            {
                "id": video.pk,
                "source": video.source,
                "status": video.status,
                "taken_down_reason": video.taken_down_reason,
                "duration_s": video.duration_s,
                "width": video.width,
                "height": video.height,
                "sha256": video.sha256,
                "created_at": video.created_at,
                **{f"{key}_file": value for key, value in media.items()},
            }
        )
    generations = []
    rows = GenerationJob.objects.filter(user=user).prefetch_related("job_cameos__cameo").order_by("pk")
    for job in rows:
        reference = None
        if job.input_reference:
            reference = f"media/references/{job.public_id}.png"
            files.append(ExportFile(reference, job.input_reference.name))
        generations.append(
            {
                "id": job.public_id,
                "kind": job.kind,
                "source": job.source,
                "status": job.status,
                "prompt": job.prompt,
                "seed": job.seed,
                "seconds": job.seconds,
                "size": job.size,
                "model": job.model,
                "cameos": [
                    {"id": jc.cameo_id, "name": jc.cameo.name}
                    for jc in sorted(job.job_cameos.all(), key=lambda jc: jc.position)
                ],
                "remix_of_post_id": job.remix_parent_post_id,
                "source_video_id": job.source_video_id,
                "input_reference_file": reference,
                "result_video_id": job.result_video_id,
                "credits_cost": job.credits_cost,
                "error_code": job.error_code,
                "error_message": job.error_message,
                "created_at": job.created_at,
                "finished_at": job.finished_at,
            }
        )
    ledger = [
        {
            "id": e.pk,
            "pool": e.pool,
            "kind": e.kind,
            "amount": e.amount,
            "job_id": e.job.public_id if e.job_id else None,
            "local_day": e.local_day,
            "reference": e.reference,
            "note": e.note,
            "created_at": e.created_at,
        }
        for e in CreditEntry.objects.filter(user=user).select_related("job").order_by("pk")
    ]
    balance = credits.credit_balance(user=user)
    data = {
        "generations": generations,
        "videos": videos,
        "credits": {
            "paid_balance": balance.paid,
            "free_used_today": balance.free_used_today,
            "ledger": ledger,
        },
    }
    return [ExportSection(name="generations", data=data, files=files)]
