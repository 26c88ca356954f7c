"""Creation nudges: after several watched posts of one topic and no creation since, offer a
"make your own" unit with a ready remix prompt for one of them. No Django.

The rule (services call it with the viewer's recent views, newest first):
- count distinct posts watched (completion ≥ MIN_COMPLETION, or ≥ MIN_WATCH_MS) per topic,
  only views after the viewer's last creation (a post or a remix started) and in the window;
- the first topic reaching `threshold` wins (most watched, then most recent);
- the nudge names the most recently watched remixable post of that topic;
- topics already nudged in this session are skipped; the per-session cap is the caller's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

MIN_COMPLETION = 0.5
MIN_WATCH_MS = 3000


@dataclass(frozen=True)
class WatchedPost:
    post_id: int
    topic: int
    at: datetime
    remixable: bool


@dataclass(frozen=True)
class NudgeChoice:
    topic: int
    post_id: int
    watched: int  # posts of the topic watched since the last creation


def counts_as_watched(completion: float | None, watch_ms: int | None) -> bool:
    return (completion is not None and completion >= MIN_COMPLETION) or (
        watch_ms is not None and watch_ms >= MIN_WATCH_MS
    )


def pick_nudge(
    watched: list[WatchedPost],
    *,
    last_created_at: datetime | None,
    threshold: int,
    exclude_topics: set[int] | frozenset[int] = frozenset(),
) -> NudgeChoice | None:
    recent = [w for w in watched if last_created_at is None or w.at > last_created_at]
    recent.sort(key=lambda w: w.at, reverse=True)
    seen: set[int] = set()
    per_topic: Counter[int] = Counter()
    latest_at: dict[int, datetime] = {}
    for w in recent:
        if w.post_id in seen:
            continue
        seen.add(w.post_id)
        per_topic[w.topic] += 1
        latest_at.setdefault(w.topic, w.at)
    eligible = [t for t, c in per_topic.items() if c >= threshold and t not in exclude_topics]
    eligible.sort(key=lambda t: (per_topic[t], latest_at[t]), reverse=True)
    for topic in eligible:
        post = next((w for w in recent if w.topic == topic and w.remixable), None)
        if post is not None:
            return NudgeChoice(topic=topic, post_id=post.post_id, watched=per_topic[topic])
    return None


def remix_prompt(*, caption: str, topic_label: str, cameo_name: str | None) -> str:
    """A prompt the viewer can send as is (or edit) to remix the post."""
    base = " ".join(caption.split())[:200] or f"this {topic_label.replace('_', ' ')} video"
    who = f"@{cameo_name}" if cameo_name else "me"
    return f"Remix of “{base}”, starring {who}: same {topic_label.replace('_', ' ')} vibe, my own twist."
