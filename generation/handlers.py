"""Generation's handlers for the cameos app's ports (registered in GenerationConfig.ready)."""

from __future__ import annotations

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
