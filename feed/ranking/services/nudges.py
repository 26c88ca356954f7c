"""Creation nudges: "you've watched five anime videos, make your own?" in a for-you page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.types.numeric import Int8

from cameos.models import Cameo, CameoKind, CameoStatus
from feed.models import Post
from feed.ranking import nudges as nudge_rules
from feed.ranking import store, topics
from feed.ranking.selectors import cfg
from feed.selectors import prepared_cursor, visible_posts_q
from sora_social.users.models import User

_NUDGE_SQL = """
WITH last AS (
    SELECT GREATEST(
        (SELECT max(created_at) FROM feed_post WHERE author_id = %(u)s),
        (SELECT max(occurred_at) FROM feed_engagementevent WHERE user_id = %(u)s AND type IN (6, 7))
    ) AS at
)
SELECT e.post_id, pe.topic, e.occurred_at, e.completion, e.watch_ms,
       (p.remix_permission = 'anyone' OR (p.remix_permission = 'friends'
        AND EXISTS (SELECT 1 FROM users_follow a WHERE a.follower_id = %(u)s AND a.followee_id = p.author_id)
        AND EXISTS (SELECT 1 FROM users_follow b WHERE b.follower_id = p.author_id AND b.followee_id = %(u)s))),
       (SELECT at FROM last)
FROM feed_engagementevent e
JOIN ranking_postembedding pe ON pe.post_id = e.post_id
JOIN feed_post p ON p.id = e.post_id
WHERE e.user_id = %(u)s AND e.type = 2 AND e.occurred_at >= %(since)s
  AND e.occurred_at > COALESCE((SELECT at FROM last), '-infinity'::timestamptz)
"""


def nudge_choice(user: User, now: datetime) -> nudge_rules.NudgeChoice | None:
    """The nudge the rule would show `user` now, if any (reads their recent views)."""
    settings_ = cfg()
    with prepared_cursor() as c:
        c.execute(_NUDGE_SQL, {"u": Int8(user.pk), "since": now - timedelta(hours=settings_["NUDGE_WINDOW_H"])})
        rows = c.fetchall()
    watched = [
        nudge_rules.WatchedPost(post_id=r[0], topic=r[1], at=r[2], remixable=bool(r[5]))
        for r in rows
        if nudge_rules.counts_as_watched(r[3], r[4])
    ]
    last = rows[0][6] if rows else None
    return nudge_rules.pick_nudge(watched, last_created_at=last, threshold=int(settings_["NUDGE_THRESHOLD"]))


def nudge_for_session(user: User, sid: str, now: datetime) -> dict[str, Any] | None:
    settings_ = cfg()
    cap = int(settings_["NUDGES_PER_SESSION"])
    if cap <= 0 or store.session_nudges(user.pk, sid) >= cap:
        return None
    choice = nudge_choice(user, now)
    if choice is None:
        return None
    post = (
        Post.objects.filter(pk=choice.post_id)
        .filter(visible_posts_q(user.pk))
        .values("id", "caption", "author__handle")
        .first()
    )
    if post is None:
        return None
    store.session_nudges(user.pk, sid, add=1, ttl_s=settings_["SESSION_TTL_S"])
    cameo = (
        Cameo.objects.filter(owner_id=user.pk, kind=CameoKind.PERSON, status=CameoStatus.ACTIVE)
        .values_list("name", flat=True)
        .first()
    )
    label = topics.LABELS[choice.topic]
    return {
        "type": "nudge",
        "post": None,
        "source": "nudge",
        "explain": None,
        "propensity": None,
        "nudge": {
            "kind": "make_your_own",
            "topic": label,
            "watched": choice.watched,
            "message": f"You've watched {choice.watched} {label.replace('_', ' ')} videos. Make your own?",
            "post_id": post["id"],
            "post_author": post["author__handle"],
            "remix_prompt": nudge_rules.remix_prompt(caption=post["caption"], topic_label=label, cameo_name=cameo),
        },
    }
