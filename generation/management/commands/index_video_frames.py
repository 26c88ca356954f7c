"""`manage.py index_video_frames`: hash the frames of videos not in the media-match index yet."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from generation.media_match import video_frames_index, videos_needing_index
from generation.models import Video


class Command(BaseCommand):
    help = (
        "Index the frames (perceptual hashes) of every video that has none of the current recipe, so a copy "
        "of it coming back as an upload or reference is recognised. --all re-indexes every video."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--all", action="store_true", help="re-index every video, not only missing ones")
        parser.add_argument("--limit", type=int, default=0, help="stop after this many videos (0: no limit)")

    def handle(self, *args, all: bool = False, limit: int = 0, **options) -> None:
        ids = list(Video.objects.order_by("id").values_list("id", flat=True)) if all else videos_needing_index()
        if limit:
            ids = ids[:limit]
        total, hashes, failed = len(ids), 0, 0
        started = time.monotonic()
        for done, video in enumerate(Video.objects.filter(pk__in=ids).order_by("id").iterator(), start=1):
            try:
                hashes += video_frames_index(video=video)
            except Exception as exc:  # an unreadable file: report it, go on with the rest
                failed += 1
                self.stderr.write(f"video {video.pk}: {type(exc).__name__}: {exc}")
            filled = round(30 * done / total)
            self.stdout.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} videos, {hashes} hashes, "
                f"{time.monotonic() - started:.0f}s",
                ending="",
            )
            self.stdout.flush()
        self.stdout.write(f"\nIndexed {total - failed} videos ({hashes} frame hashes); {failed} failed.")
