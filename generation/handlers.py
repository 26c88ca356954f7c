"""Generation's handlers for the ports of the apps below it and for process life (registered in
GenerationConfig.ready)."""

from __future__ import annotations

import os
from collections.abc import Callable

from generation.jobs import generation_jobs_cancel_for_cameo
from generation.models import Video


def cancel_jobs_for_cameo(*, cameo_id: int, still_allowed: Callable[[int], bool], reason: str) -> int:
    return generation_jobs_cancel_for_cameo(cameo_id=cameo_id, still_allowed=still_allowed, reason=reason)


def take_down_video_for_cameo(*, video_id: int, cameo_id: int, creator_id: int, reason: str, actor_id: int) -> None:
    from generation.services import video_take_down

    video = Video.objects.filter(pk=video_id).first()
    if video is not None:
        video_take_down(video=video, reason=reason or "Removed by the owner of a cameo in it.")


def warm_video_backend() -> None:
    """Create this process's backend and, for the embedded model, load its weights."""
    from generation.backends.base import get_backend

    backend = get_backend()
    load = getattr(backend, "pipeline", None)
    if callable(load):
        pipeline = load()
        # Its text encoder (MiniLM) loads on first use too: encode one prompt now.
        embed = getattr(pipeline, "embed_prompts", None)
        if callable(embed):
            embed(["a red ball bounces"])


def refuse_clip_showing_others_cameos(*, owner_id: int, clip_bytes: bytes, kind: str) -> None:
    """The cameos clip-check port: a new cameo's clip recognised as one of our videos that shows a
    cameo of someone else is refused (422 `cameo_in_clip`), whatever kind of cameo it would be."""
    from cameos.selectors import cameos_shown_by_video
    from generation.media_match import match_media
    from sora_social.common.errors import ApplicationError

    match = match_media(video_bytes=clip_bytes)
    if match is None:
        return
    others = [c for c in cameos_shown_by_video(video_id=match.video_id) if c.owner_id != owner_id]
    if others:
        raise ApplicationError(
            "cameo_in_clip",
            "This clip is a video from this app that shows someone else's cameo; a cameo can only be "
            "made of yourself, your pet or your own things.",
            status_code=422,
        )


def drain_rendered_media() -> None:
    """A gpu worker process stops warmly: the CPU stages of batches it rendered finish first."""
    from generation.pipeline import drain_media_stage

    drain_media_stage(timeout=float(os.environ.get("GENERATION_DRAIN_TIMEOUT_S", "120")))
