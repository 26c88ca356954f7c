"""Write use-cases for posts, remixes, comments, likes, shares and hides. One transaction each.

Counters (remix, descendant, like, comment, share, reply counts) change in the same
transaction as the rows they count, with F() updates, so concurrent writers never lose one.
Notifications go through `notify`, which delivers after commit.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from cameos.models import Cameo
from cameos.services import appearance_record
from feed import ports, selectors
from feed.events import MAX_BATCH, Rejection, ValidEvent, validate_event
from feed.models import (
    Comment,
    Hide,
    Like,
    Post,
    PostCameo,
    RemixPermission,
    RemovalKind,
    Share,
    ShareChannel,
    Visibility,
)
from generation import selectors as generation_selectors
from generation.jobs import video_mark_posted
from generation.models import Video, VideoStatus
from sora_social.common.errors import ApplicationError, Conflict, Forbidden, NotFound
from sora_social.notifications.services import notifications_hide_for_target, notifications_unhide_for_target, notify
from sora_social.users.models import User

CAPTION_MAX = 500
COMMENT_MAX = 1000
EXCERPT = 80

# Statements that keep the lineage counters true. Every ancestor of a new remix gains one
# descendant; the walk up is a recursive CTE bounded by the parent's depth.
_ANCESTORS_GAIN_DESCENDANT_SQL = """
WITH RECURSIVE up(id, parent_id) AS (
    SELECT id, remix_of_id FROM feed_post WHERE id = %(parent)s
  UNION ALL
    SELECT p.id, p.remix_of_id FROM feed_post p JOIN up ON p.id = up.parent_id
)
UPDATE feed_post SET descendant_count = descendant_count + 1 WHERE id IN (SELECT id FROM up)
"""


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _choice(value: str, allowed: type, field: str) -> str:
    if value not in allowed.values:
        raise ApplicationError(
            f"invalid_{field}",
            f"{field} must be one of: {', '.join(allowed.values)}.",
            fields={field: [f"Not one of {', '.join(allowed.values)}."]},
        )
    return value


def _clean_caption(caption: str) -> str:
    caption = (caption or "").strip()
    if len(caption) > CAPTION_MAX:
        raise ApplicationError(
            "caption_too_long",
            f"A caption is at most {CAPTION_MAX} characters.",
            fields={"caption": [f"At most {CAPTION_MAX} characters."]},
        )
    return caption


def _next_post_id() -> int:
    # A root is its own root; taking the id first lets the row be inserted whole, so the
    # lineage check constraint holds from the first write.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('feed_post', 'id'))")
        return cursor.fetchone()[0]


def _check_cameos(author: User, cameos: Sequence[Cameo]) -> list[Cameo]:
    from cameos.selectors import cameo_decisions

    unique = list({c.pk: c for c in cameos}.values())
    for cameo, decision in zip(unique, cameo_decisions(author, unique).values(), strict=True):
        if not decision.allowed:
            raise ApplicationError(
                "cameo_permission_denied",
                f"You may not feature {cameo.display_name}: {decision.reason}",
                status_code=403,
                extra={"cameo_id": cameo.pk, "decision": decision.code},
            )
    return unique


def _with_generation_facts(
    video: Video, *, cameos: Sequence[Cameo], remix_of: Post | None
) -> tuple[list[Cameo], Post | None]:
    """A generated video brings what it was made from: the cameos in it are featured (always,
    so their owners keep control), and a remix job's post becomes a remix of its source post."""
    from cameos.selectors import cameos_shown_by_video

    merged = {c.pk: c for c in cameos}
    # Everything the video is recorded to show (inherited cameos of a remix, an edit or a
    # matched upload included), so cameo feeds and visibility rules apply to the post.
    for cameo in cameos_shown_by_video(video_id=video.pk):
        merged.setdefault(cameo.pk, cameo)
    job = generation_selectors.job_for_video(video_id=video.pk)
    if job is None:
        return list(merged.values()), remix_of
    for link in job.job_cameos.all():
        merged.setdefault(link.cameo_id, link.cameo)
    if remix_of is None and job.remix_parent_post_id:
        # If the source post is gone by now, the video is posted as an original.
        remix_of = Post.objects.filter(pk=job.remix_parent_post_id, deleted_at__isnull=True).first()
    return list(merged.values()), remix_of


@transaction.atomic
def post_create(
    *,
    author: User,
    video: Video,
    caption: str = "",
    visibility: str = Visibility.PUBLIC,
    remix_permission: str = RemixPermission.ANYONE,
    cameos: Sequence[Cameo] = (),
    remix_of: Post | None = None,
) -> Post:
    """Post one of the author's videos, as an original or as a remix of `remix_of`.

    Refusals: video_not_found (not theirs), video_unavailable (taken down), post_not_found /
    remix_not_allowed (the parent), cameo_permission_denied (consent), invalid_* fields.
    """
    return _post_create(
        author=author,
        video=video,
        caption=caption,
        visibility=visibility,
        remix_permission=remix_permission,
        cameos=cameos,
        remix_of=remix_of,
        remix_allowed=False,
    )


def _post_create(
    *,
    author: User,
    video: Video,
    caption: str,
    visibility: str,
    remix_permission: str,
    cameos: Sequence[Cameo],
    remix_of: Post | None,
    remix_allowed: bool,
) -> Post:
    """post_create's body. `remix_allowed`: `remix_of` came from `post_get_for_remix` in this
    transaction (remix_create), so its remix permission is not checked a second time."""
    caption = _clean_caption(caption)
    _choice(visibility, Visibility, "visibility")
    _choice(remix_permission, RemixPermission, "remix_permission")
    if video.created_by_id != author.pk:
        raise NotFound("video_not_found", "No such video.")
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.status != VideoStatus.READY:
        raise ApplicationError("video_unavailable", "This video was taken down and cannot be posted.", status_code=409)
    cameos, remix_of = _with_generation_facts(video, cameos=cameos, remix_of=remix_of)
    featured = _check_cameos(author, cameos) if cameos else []

    parent = None
    if remix_of is not None:
        # Permission is checked here, not trusted from the caller (a parent a job names, or one
        # passed to post_create), unless remix_create checked it a moment ago.
        parent = remix_of if remix_allowed else selectors.post_get_for_remix(viewer=author, post_id=remix_of.pk)
        # Serialise remixes within one tree on its root row: the ancestors' counters are then
        # updated by one transaction at a time, so two remixes can never deadlock on them.
        Post.objects.select_for_update().filter(pk=parent.root_id).values_list("pk", flat=True).get()
        parent = Post.objects.get(pk=parent.pk)  # fresh depth and root after the lock

    post_id = _next_post_id()
    post = Post.objects.create(
        id=post_id,
        author=author,
        video=video,
        caption=caption,
        visibility=visibility,
        remix_permission=remix_permission,
        remix_of=parent,
        root_id=parent.root_id if parent else post_id,
        depth=parent.depth + 1 if parent else 0,
    )
    if featured:
        PostCameo.objects.bulk_create([PostCameo(post=post, cameo=c) for c in featured])
    if parent is not None:
        Post.objects.filter(pk=parent.pk).update(remix_count=F("remix_count") + 1)
        with connection.cursor() as cursor:
            cursor.execute(_ANCESTORS_GAIN_DESCENDANT_SQL, {"parent": parent.pk})
        _notify_remixed(post, parent)
    for cameo in featured:
        _record_cameo_appearance(post, cameo)
    # A generated draft stops being a draft once a post shows it.
    video_mark_posted(video=video)
    # The apps built on the core feed hear of it through its port (ranking embeds the caption).
    ports.announce_post_published(post=post)
    return post


def _notify_remixed(post: Post, parent: Post) -> None:
    # The parent's author hears of it only if they may see the remix (a friends-only remix by
    # someone they do not follow back stays unseen, notification included).
    if not selectors.post_is_visible(viewer=parent.author_id, post=post):
        return
    root_author = User.objects.filter(pk=parent.root.author_id).values_list("handle", flat=True).first()
    notify(
        recipient=parent.author,
        kind="post_remixed",
        actor=post.author,
        target=("post", post.pk),
        data={
            "post_id": post.pk,
            "parent_id": parent.pk,
            "root_id": post.root_id,
            "depth": post.depth,
            "parent_author": parent.author.handle,
            "root_author": root_author,
        },
    )


def _record_cameo_appearance(post: Post, cameo: Cameo) -> None:
    """The cameos app records the appearance (consent re-checked; a video the owner removed
    stays removed) and tells the owner the first time it sees the video. A video that was
    already recorded (a generated draft) is news again once posted: say so, about the post."""
    appearance = appearance_record(cameo=cameo, creator=post.author, video_id=post.video_id)
    if appearance.created_at < post.created_at:
        _notify_cameo_used(post, cameo)


def _notify_cameo_used(post: Post, cameo: Cameo) -> None:
    notify(
        recipient=cameo.owner,
        kind="cameo_used",
        actor=post.author,
        target=("post", post.pk),
        data={
            "post_id": post.pk,
            "cameo_id": cameo.pk,
            "cameo_name": cameo.display_name,
            "parent_id": post.remix_of_id,
            "root_id": post.root_id,
        },
    )


@transaction.atomic
def remix_create(
    *,
    author: User,
    parent_id: int,
    video_id: int,
    caption: str = "",
    visibility: str = Visibility.PUBLIC,
    remix_permission: str = RemixPermission.ANYONE,
    cameo_ids: Sequence[int] = (),
) -> Post:
    """Post the author's video `video_id` as a remix of post `parent_id`.

    The remix permission is checked here, once, and first: a refused remix says so
    (post_not_found, remix_not_allowed) before anything about the video (video_not_found) or
    the cameos (cameo_not_found); then as post_create.
    """
    parent = selectors.post_get_for_remix(viewer=author, post_id=parent_id)
    return _post_create(
        author=author,
        video=generation_selectors.video_get_owned(user=author, video_id=video_id),
        caption=caption,
        visibility=visibility,
        remix_permission=remix_permission,
        cameos=selectors.cameos_by_ids(cameo_ids=list(cameo_ids)),
        remix_of=parent,
        remix_allowed=True,
    )


@transaction.atomic
def post_update(
    *,
    post: Post,
    by: User,
    caption: str | None = None,
    visibility: str | None = None,
    remix_permission: str | None = None,
) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.author_id != by.pk:
        raise Forbidden("not_post_author", "Only the author can edit this post.")
    if post.deleted_at is not None:
        raise NotFound("post_not_found", "No such post.")
    fields = []
    if caption is not None:
        post.caption = _clean_caption(caption)
        fields.append("caption")
    if visibility is not None:
        post.visibility = _choice(visibility, Visibility, "visibility")
        fields.append("visibility")
    if remix_permission is not None:
        post.remix_permission = _choice(remix_permission, RemixPermission, "remix_permission")
        fields.append("remix_permission")
    if fields:
        post.save(update_fields=fields)
    return post


def _hide_post_notifications(post_id: int) -> None:
    notifications_hide_for_target(target_type="post", target_id=post_id)
    for comment_id in Comment.objects.filter(post_id=post_id).values_list("pk", flat=True):
        notifications_hide_for_target(target_type="comment", target_id=comment_id)


def _unhide_post_notifications(post_id: int) -> None:
    notifications_unhide_for_target(target_type="post", target_id=post_id)
    for comment_id in Comment.objects.filter(post_id=post_id, deleted_at__isnull=True).values_list("pk", flat=True):
        notifications_unhide_for_target(target_type="comment", target_id=comment_id)


def _soft_delete(post: Post, *, kind: str, reason: str, by: User | None) -> Post:
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.deleted_at is None:
        post.deleted_at = timezone.now()
        post.delete_kind = kind
        post.delete_reason = reason[:300]
        post.deleted_by = by
        post.save(update_fields=["deleted_at", "delete_kind", "delete_reason", "deleted_by"])
        _hide_post_notifications(post.pk)
    return post


@transaction.atomic
def post_delete(*, post: Post, by: User, reason: str = "") -> Post:
    """The author deletes their post. Remixes of it keep their place; it shows as a placeholder."""
    if post.author_id != by.pk:
        raise Forbidden("not_post_author", "Only the author can delete this post.")
    return _soft_delete(post, kind=RemovalKind.AUTHOR, reason=reason or "Deleted by its author.", by=by)


@transaction.atomic
def post_remove(*, post: Post, reason: str, by: User | None = None) -> Post:
    """Moderation removes a post: it leaves every read path at once (and its notifications)."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the post is removed.")
    return _soft_delete(post, kind=RemovalKind.MODERATION, reason=reason, by=by)


@transaction.atomic
def post_set_age_restricted(*, post: Post, restricted: bool, by: User | None = None, reason: str = "") -> Post:
    """Moderation limits a post to adults (or lifts that): minors and signed-out viewers stop
    seeing it on every read path, because the visibility rule reads the flag."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.age_restricted != restricted:
        post.age_restricted = restricted
        post.save(update_fields=["age_restricted"])
    return post


@transaction.atomic
def post_restore(*, post: Post, by: User | None = None) -> Post:
    """Undo a removal (an appeal won). An author's own deletion is not undone by anyone else."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    if post.deleted_at is None:
        return post
    if post.delete_kind == RemovalKind.AUTHOR:
        raise Conflict("not_restorable", "The author deleted this post; only they could post it again.")
    post.deleted_at = None
    post.delete_kind = ""
    post.delete_reason = ""
    post.deleted_by = None
    post.save(update_fields=["deleted_at", "delete_kind", "delete_reason", "deleted_by"])
    _unhide_post_notifications(post.pk)
    return post


@transaction.atomic
def posts_take_down_for_video(
    *, video_id: int, reason: str, kind: str = RemovalKind.CAMEO_OWNER, by: User | None = None
) -> int:
    """Remove every live post showing a video (a cameo's owner removed their appearance).

    Returns how many posts went. Idempotent: posts already gone are left as they are.
    """
    count = 0
    for post in Post.objects.filter(video_id=video_id, deleted_at__isnull=True).order_by("pk"):
        _soft_delete(post, kind=kind, reason=reason, by=by)
        count += 1
    return count


def notifications_hide_for_video(video_id: int) -> None:
    """A video was taken down: hide what notifications say about the posts showing it."""
    for post_id in Post.objects.filter(video_id=video_id).values_list("pk", flat=True):
        _hide_post_notifications(post_id)


def notifications_unhide_for_video(video_id: int) -> None:
    for post_id in Post.objects.filter(video_id=video_id, deleted_at__isnull=True).values_list("pk", flat=True):
        _unhide_post_notifications(post_id)


# --- comments -------------------------------------------------------------------------------


@transaction.atomic
def comment_create(*, author: User, post_id: int, body: str, reply_to_id: int | None = None) -> Comment:
    """Comment on a post, or reply to a comment on it. A reply to a reply joins the same thread
    (replies are one level deep) and notifies the person replied to. The one place that checks
    the author may see the post and the comment replied to (404 otherwise, as for a missing one)."""
    post = selectors.post_get_visible(viewer=author, post_id=post_id)
    body = (body or "").strip()
    if not body:
        raise ApplicationError("comment_empty", "Write something.", fields={"body": ["Required."]})
    if len(body) > COMMENT_MAX:
        raise ApplicationError(
            "comment_too_long", f"A comment is at most {COMMENT_MAX} characters.", fields={"body": ["Too long."]}
        )
    thread = reply_to = None
    if reply_to_id is not None:
        reply_to = selectors.comment_get_visible(viewer=author, comment_id=reply_to_id)
        if reply_to.post_id != post.pk:
            raise NotFound("comment_not_found", "No such comment on this post.")
        thread = Comment.objects.select_for_update().get(pk=reply_to.parent_id or reply_to.pk)
    comment = Comment.objects.create(post=post, author=author, parent=thread, body=body)
    Post.objects.filter(pk=post.pk).update(comment_count=F("comment_count") + 1)
    if thread is not None:
        Comment.objects.filter(pk=thread.pk).update(reply_count=F("reply_count") + 1)

    data = {"post_id": post.pk, "comment_id": comment.pk, "excerpt": _excerpt(body)}
    told = set()
    if reply_to is not None:
        notify(
            recipient=reply_to.author,
            kind="reply",
            actor=author,
            target=("comment", comment.pk),
            data={**data, "in_reply_to": reply_to.pk},
        )
        told.add(reply_to.author_id)
    if post.author_id not in told:
        notify(recipient=post.author, kind="comment", actor=author, target=("comment", comment.pk), data=data)
    return comment


def _comment_soft_delete(comment: Comment, *, kind: str, reason: str, by: User | None) -> Comment:
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.deleted_at is not None:
        return comment
    comment.deleted_at = timezone.now()
    comment.delete_kind = kind
    comment.delete_reason = reason[:300]
    comment.deleted_by = by
    comment.save(update_fields=["deleted_at", "delete_kind", "delete_reason", "deleted_by"])
    Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") - 1)
    if comment.parent_id:
        Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") - 1)
    notifications_hide_for_target(target_type="comment", target_id=comment.pk)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, by: User) -> Comment:
    """The comment's author deletes it, or the post's author removes it from their post."""
    if comment.author_id == by.pk:
        kind = RemovalKind.AUTHOR
    elif Post.objects.filter(pk=comment.post_id, author_id=by.pk).exists():
        kind = RemovalKind.POST_AUTHOR
    else:
        raise Forbidden("not_comment_author", "Only the comment's author or the post's author can delete it.")
    return _comment_soft_delete(comment, kind=kind, reason="", by=by)


@transaction.atomic
def comment_remove(*, comment: Comment, reason: str, by: User | None = None) -> Comment:
    """Moderation removes a comment (its replies go with it from every read path)."""
    if not reason.strip():
        raise ApplicationError("reason_required", "Say why the comment is removed.")
    return _comment_soft_delete(comment, kind=RemovalKind.MODERATION, reason=reason, by=by)


@transaction.atomic
def comment_restore(*, comment: Comment, by: User | None = None) -> Comment:
    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.deleted_at is None:
        return comment
    if comment.delete_kind == RemovalKind.AUTHOR:
        raise Conflict("not_restorable", "The author deleted this comment.")
    comment.deleted_at = None
    comment.delete_kind = ""
    comment.delete_reason = ""
    comment.deleted_by = None
    comment.save(update_fields=["deleted_at", "delete_kind", "delete_reason", "deleted_by"])
    Post.objects.filter(pk=comment.post_id).update(comment_count=F("comment_count") + 1)
    if comment.parent_id:
        Comment.objects.filter(pk=comment.parent_id).update(reply_count=F("reply_count") + 1)
    notifications_unhide_for_target(target_type="comment", target_id=comment.pk)
    return comment


# --- likes, shares, hides -------------------------------------------------------------------


@transaction.atomic
def like_create(*, user: User, post_id: int) -> bool:
    """Like a post. Returns False if it was liked already (liking is idempotent). Like every
    engagement below, the one place that checks the user may see the post (404 otherwise)."""
    post = selectors.post_get_visible(viewer=user, post_id=post_id)
    try:
        with transaction.atomic():
            Like.objects.create(user=user, post=post)
    except IntegrityError:
        return False
    Post.objects.filter(pk=post.pk).update(like_count=F("like_count") + 1)
    # Aggregated: the author sees one "@x and 12 others liked your post" that updates.
    notify(
        recipient=post.author,
        kind="likes",
        actor=user,
        target=("post", post.pk),
        group_key=f"likes:post:{post.pk}",
        data={"post_id": post.pk},
    )
    return True


@transaction.atomic
def like_delete(*, user: User, post_id: int) -> bool:
    post = selectors.post_get_visible(viewer=user, post_id=post_id)
    deleted, _ = Like.objects.filter(user=user, post=post).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(like_count=F("like_count") - 1)
    return bool(deleted)


@transaction.atomic
def share_create(*, user: User, post_id: int, channel: str = ShareChannel.LINK) -> Share:
    post = selectors.post_get_visible(viewer=user, post_id=post_id)
    _choice(channel, ShareChannel, "channel")
    share = Share.objects.create(user=user, post=post, channel=channel)
    Post.objects.filter(pk=post.pk).update(share_count=F("share_count") + 1)
    return share


@transaction.atomic
def hide_create(*, user: User, post_id: int) -> bool:
    """Not interested: the post leaves the user's feeds. Idempotent."""
    post = selectors.post_get_visible(viewer=user, post_id=post_id)
    try:
        with transaction.atomic():
            Hide.objects.create(user=user, post=post)
    except IntegrityError:
        return False
    return True


@transaction.atomic
def hide_delete(*, user: User, post: Post) -> bool:
    deleted, _ = Hide.objects.filter(user=user, post=post).delete()
    return bool(deleted)


# --- the engagement log ---------------------------------------------------------------------

# One round trip for a whole batch: the events travel as one JSON parameter that Postgres
# unpacks (adapting 500 rows of Python values into array parameters cost more than the insert
# itself; jsonb, not json, whose ->> re-parses the text for every field), the posts they name
# are checked against the visibility rule, the visible ones are inserted with ON CONFLICT DO
# NOTHING, and the answer lists which posts were visible and which events were new.
_EVENTS_INGEST_SQL = """
WITH ev AS (
    SELECT (e->>0)::bigint AS post_id, (e->>1)::timestamptz AS occurred_at, (e->>2)::uuid AS event_id,
           (e->>3)::integer AS watch_ms, (e->>4)::real AS completion,
           (e->>5)::smallint AS type, (e->>6)::smallint AS surface, (e->>7)::smallint AS position,
           (e->>8)::real AS propensity
    FROM jsonb_array_elements(%(events)s::jsonb) AS e
),
visible AS (
    SELECT p.id FROM feed_post p WHERE p.id IN (SELECT post_id FROM ev) AND {visible}
),
inserted AS (
    INSERT INTO feed_engagementevent
        (user_id, received_at, post_id, occurred_at, event_id, watch_ms, completion, type, surface, position,
         propensity)
    SELECT %(viewer)s, %(now)s, ev.post_id, ev.occurred_at, ev.event_id, ev.watch_ms, ev.completion,
           ev.type, ev.surface, ev.position, ev.propensity
    FROM ev WHERE ev.post_id IN (SELECT id FROM visible)
    ON CONFLICT (user_id, event_id) DO NOTHING
    RETURNING event_id
)
SELECT true, event_id::text FROM inserted
UNION ALL
SELECT false, id::text FROM visible
"""


@dataclass(frozen=True)
class EventIngestResult:
    received: int
    accepted: int
    duplicate_ids: list[str]
    rejected: list[dict]


def _event_row(e: ValidEvent) -> list:
    # In the order of _EVENTS_INGEST_SQL's e->>0 … e->>8.
    when = e.occurred_at.isoformat()
    return [e.post_id, when, str(e.event_id), e.watch_ms, e.completion, e.type, e.surface, e.position, e.propensity]


@transaction.atomic
def events_ingest(*, user: User, events: list) -> EventIngestResult:
    """Append a batch of client events to the log: each validated, deduplicated by the client's
    event id (per user), the ones about posts the user may not see rejected. One statement
    for the whole batch (see _EVENTS_INGEST_SQL)."""
    if not isinstance(events, list):
        raise ApplicationError("invalid_batch", "events must be a list.")
    if len(events) > MAX_BATCH:
        raise ApplicationError("batch_too_large", f"Send at most {MAX_BATCH} events a call.")
    now = timezone.now()
    rejected: list[Rejection] = []
    valid: list[ValidEvent] = []
    seen: set[uuid.UUID] = set()
    duplicates: list[str] = []
    for index, raw in enumerate(events):
        outcome = validate_event(index, raw, now)
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
        elif outcome.event_id in seen:
            duplicates.append(str(outcome.event_id))  # sent twice in one batch
        else:
            seen.add(outcome.event_id)
            valid.append(outcome)
    inserted: set[str] = set()
    if valid:
        rows = [_event_row(e) for e in valid]
        sql = _EVENTS_INGEST_SQL.format(visible=selectors.visibility_sql(alias="p", viewer_id=user.pk))
        with connection.cursor() as cursor:
            cursor.execute(sql, {"events": json.dumps(rows, separators=(",", ":")), "viewer": user.pk, "now": now})
            answer = cursor.fetchall()
        inserted = {value for is_event, value in answer if is_event}
        visible = {int(value) for is_event, value in answer if not is_event}
        for event in valid:
            event_id = str(event.event_id)
            if event.post_id not in visible:
                rejected.append(Rejection(event.index, event_id, "post_not_found", "No such post for this user."))
            elif event_id not in inserted:
                # Already in the log from an earlier call (a retry): fine for the client, not stored twice.
                duplicates.append(event_id)
    rejected.sort(key=lambda r: r.index)
    return EventIngestResult(
        received=len(events),
        accepted=len(inserted),
        duplicate_ids=duplicates,
        rejected=[r.as_dict() for r in rejected],
    )
