"""The objects a case is about, reached only through their owning apps' selectors and services.

Moderation sits on top of every app: it reads posts and comments through feed, videos and jobs
through generation, cameos through cameos and accounts through users, and changes them only by
calling those apps' own services (post_remove, video_take_down, user_suspend, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cameos import selectors as cameo_selectors
from cameos import services as cameo_services
from cameos.models import Cameo, CameoAppearance
from feed import selectors as feed_selectors
from feed import services as feed_services
from feed.models import Comment, Post, RemovalKind
from generation import services as generation_services
from generation.models import GenerationJob, Video, VideoStatus
from generation.selectors import video_get_for_viewer
from moderation.constants import TargetType
from sora_social.common.errors import ApplicationError, NotFound
from sora_social.users import services as user_services
from sora_social.users.models import User


@dataclass
class Target:
    type: str
    id: int
    obj: Any
    subject: User | None  # whom a decision affects


def _get(target_type: str, target_id: int) -> Any:
    model = {
        TargetType.POST: Post,
        TargetType.COMMENT: Comment,
        TargetType.USER: User,
        TargetType.VIDEO: Video,
        TargetType.CAMEO: Cameo,
    }.get(target_type)
    if model is None:
        raise ApplicationError("invalid_target_type", f"Cannot moderate a {target_type!r}.")
    obj = model.objects.filter(pk=target_id).first()
    if obj is None:
        raise NotFound("target_not_found", f"No such {target_type}.")
    return obj


def _subject(target_type: str, obj: Any) -> User | None:
    if target_type == TargetType.USER:
        return obj
    user_id = {
        TargetType.POST: "author_id",
        TargetType.COMMENT: "author_id",
        TargetType.VIDEO: "created_by_id",
        TargetType.CAMEO: "owner_id",
    }[target_type]
    return User.objects.filter(pk=getattr(obj, user_id)).first()


def target_resolve(*, target_type: str, target_id: int) -> Target:
    """The object whatever its state (for moderators: removed content included)."""
    obj = _get(target_type, target_id)
    return Target(type=target_type, id=target_id, obj=obj, subject=_subject(target_type, obj))


def target_for_reporter(*, reporter: User, target_type: str, target_id: int) -> Target:
    """The object if `reporter` can see it; the same 404 as a missing one otherwise (a report
    must not reveal that a private post or cameo exists)."""
    if target_type == TargetType.POST:
        obj = feed_selectors.post_get_visible(viewer=reporter, post_id=target_id)
    elif target_type == TargetType.COMMENT:
        obj = feed_selectors.comment_get_visible(viewer=reporter, comment_id=target_id)
    elif target_type == TargetType.VIDEO:
        obj = video_get_for_viewer(viewer=reporter, video_id=target_id)
    elif target_type == TargetType.CAMEO:
        obj, _ = cameo_selectors.cameo_get_visible(viewer=reporter, cameo_id=target_id)
    elif target_type == TargetType.USER:
        # Reporting does not need the profile to be visible: someone harassed will often have
        # blocked their harasser, and must still be able to report them.
        obj = User.objects.filter(pk=target_id, is_active=True).first()
        if obj is None:
            raise NotFound("user_not_found", "No such user.")
    else:
        raise ApplicationError("invalid_target_type", f"Cannot report a {target_type!r}.")
    return Target(type=target_type, id=target_id, obj=obj, subject=_subject(target_type, obj))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def target_video_id(target: Target) -> int | None:
    if target.type == TargetType.POST:
        return target.obj.video_id
    if target.type == TargetType.VIDEO:
        return target.obj.pk
    return None


def generation_job_of_video(video_id: int | None) -> GenerationJob | None:
    if video_id is None:
        return None
    return GenerationJob.objects.filter(result_video_id=video_id).prefetch_related("job_cameos__cameo__owner").first()


def target_snapshot(target: Target) -> dict[str, Any]:
    """What the object looked like at decision time, kept with the action in the audit log."""
    obj = target.obj
    subject = target.subject
    base: dict[str, Any] = {
        "type": target.type,
        "id": target.id,
        "subject": {"id": subject.pk, "handle": subject.handle} if subject else None,
    }
    if target.type == TargetType.POST:
        base.update(
            caption=obj.caption,
            visibility=obj.visibility,
            video_id=obj.video_id,
            remix_of=obj.remix_of_id,
            created_at=_iso(obj.created_at),
            deleted_at=_iso(obj.deleted_at),
            delete_kind=obj.delete_kind,
        )
    elif target.type == TargetType.COMMENT:
        base.update(
            post_id=obj.post_id, body=obj.body, created_at=_iso(obj.created_at), deleted_at=_iso(obj.deleted_at)
        )
    elif target.type == TargetType.VIDEO:
        base.update(status=obj.status, source=obj.source, sha256=obj.sha256, duration_s=obj.duration_s)
    elif target.type == TargetType.USER:
        base.update(
            handle=obj.handle,
            display_name=obj.display_name,
            bio=obj.bio,
            is_active=obj.is_active,
            suspended_until=_iso(obj.suspended_until),
        )
    elif target.type == TargetType.CAMEO:
        base.update(kind=obj.kind, name=obj.name, display_name=obj.display_name, status=obj.status)
    job = generation_job_of_video(target_video_id(target))
    if job is not None:
        base["prompt"] = job.prompt
        base["job_id"] = job.public_id
    return base


# --- what actions do to content, through the owning apps' services ---------------------------


@dataclass
class Effect:
    """What an action did, stored in Action.details so it can be undone exactly."""

    details: dict[str, Any] = field(default_factory=dict)
    video_to_ban: int | None = None  # a removed video whose frames go on the banned list


def _take_down_video(video: Video, reason: str) -> bool:
    """Take a video down; True if this call did it (it was up), so a restore undoes only that."""
    was_ready = video.status == VideoStatus.READY
    generation_services.video_take_down(video=video, reason=reason)
    return was_ready


def content_remove(*, target: Target, reason: str, by: User, keep_video: bool = False) -> Effect:
    """Remove a post, comment, video or the videos a misused cameo is in: gone from every feed,
    chain and notification at once (the owning app's visibility rule reads what this sets)."""
    obj = target.obj
    if target.type == TargetType.POST:
        feed_services.post_remove(post=obj, reason=reason, by=by)
        effect = Effect({"post_removed": True, "video_id": obj.video_id, "video_taken_down": False})
        if not keep_video:
            effect.details["video_taken_down"] = _take_down_video(obj.video, reason)
            effect.video_to_ban = obj.video_id
        return effect
    if target.type == TargetType.COMMENT:
        feed_services.comment_remove(comment=obj, reason=reason, by=by)
        return Effect({"comment_removed": True})
    if target.type == TargetType.VIDEO:
        return Effect({"video_id": obj.pk, "video_taken_down": _take_down_video(obj, reason)}, video_to_ban=obj.pk)
    if target.type == TargetType.CAMEO:
        # A misused cameo stops being usable, and every video it is in comes down.
        disabled = obj.status == "active"
        cameo_services.cameo_disable_by_moderation(cameo=obj, reason=reason, by=by)
        taken: list[int] = []
        video_ids = CameoAppearance.objects.filter(cameo_id=obj.pk).values_list("video_id", flat=True)
        for video in Video.objects.filter(pk__in=list(video_ids)).order_by("pk"):
            if _take_down_video(video, reason):
                taken.append(video.pk)
        return Effect({"videos_taken_down": taken, "cameo_disabled": disabled})
    raise ApplicationError("action_not_allowed", "An account cannot be removed; suspend or ban it.")


def content_restore(*, target: Target, details: dict[str, Any]) -> None:
    """Undo exactly what a removal did (its Action.details)."""
    obj = target.obj
    if target.type == TargetType.POST:
        obj.refresh_from_db()
        if obj.deleted_at is not None and obj.delete_kind == RemovalKind.MODERATION:
            feed_services.post_restore(post=obj)
        if details.get("video_taken_down"):
            generation_services.video_restore(video=Video.objects.get(pk=obj.video_id))
    elif target.type == TargetType.COMMENT:
        obj.refresh_from_db()
        if obj.deleted_at is not None and obj.delete_kind == RemovalKind.MODERATION:
            feed_services.comment_restore(comment=obj)
    elif target.type == TargetType.VIDEO:
        if details.get("video_taken_down"):
            generation_services.video_restore(video=obj)
    elif target.type == TargetType.CAMEO:
        if details.get("cameo_disabled"):
            cameo_services.cameo_enable_by_moderation(cameo=obj)
        for video in Video.objects.filter(pk__in=details.get("videos_taken_down", [])):
            generation_services.video_restore(video=video)


def age_restrict_service():
    """feed's service for adult-only posts, if feed has one yet (see docs/moderation.md)."""
    return getattr(feed_services, "post_set_age_restricted", None)


def content_age_restrict(*, target: Target, restricted: bool, reason: str, by: User | None) -> Effect:
    service = age_restrict_service()
    posts: list[Post] = []
    if target.type == TargetType.POST:
        posts = [target.obj]
    elif target.type == TargetType.VIDEO:
        posts = list(Post.objects.filter(video_id=target.obj.pk).order_by("pk"))
    else:
        raise ApplicationError("action_not_allowed", "Only posts and videos can be age-restricted.")
    if service is None:
        return Effect({"enforced": False, "post_ids": [p.pk for p in posts]})
    for post in posts:
        service(post=post, restricted=restricted, by=by, reason=reason)
    return Effect({"enforced": True, "post_ids": [p.pk for p in posts]})


def account_suspend(*, user: User, until: datetime) -> None:
    user_services.user_suspend(user=user, until=until)


def account_lift_suspension(*, user: User) -> None:
    user_services.user_suspend(user=user, until=None)


def account_ban(*, user: User) -> None:
    user_services.user_ban(user=user)


def account_reinstate(*, user: User) -> None:
    user_services.user_reinstate(user=user)


def thumbnail_videos_of_cases(cases: list[Any]) -> dict[int, int]:
    """case id → the id of its video when that video has a thumbnail (posts through their video),
    in two queries for a whole queue page."""
    post_ids = [c.target_id for c in cases if c.target_type == TargetType.POST]
    video_of_post = dict(Post.objects.filter(pk__in=post_ids).values_list("pk", "video_id"))
    video_of_case = {}
    for case in cases:
        if case.target_type == TargetType.POST:
            video_of_case[case.pk] = video_of_post.get(case.target_id)
        elif case.target_type == TargetType.VIDEO:
            video_of_case[case.pk] = case.target_id
    with_thumbnail = set(
        Video.objects.filter(pk__in=[v for v in video_of_case.values() if v])
        .exclude(thumbnail="")
        .values_list("pk", flat=True)
    )
    return {case_id: video_id for case_id, video_id in video_of_case.items() if video_id in with_thumbnail}


def video_thumbnail_of_case(case: Any) -> Any:
    """The thumbnail file of the case's video (whatever the video's state), or None."""
    video_id = thumbnail_videos_of_cases([case]).get(case.pk)
    video = Video.objects.filter(pk=video_id).only("thumbnail").first() if video_id else None
    return video.thumbnail if video is not None and video.thumbnail else None
