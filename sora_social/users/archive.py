"""The ZIP of a data export: one JSON file per section, the media under media/, a manifest.

Written to a local temporary file (media are streamed in, never held in memory whole), then
stored in private storage in one piece, so a half-written archive is never downloadable.
Media are stored uncompressed (MP4, JPEG and PNG are compressed already); JSON is deflated.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sora_social.users.ports import ExportSection

FORMAT_VERSION = 1
README = """This archive holds your data from sora_social, as of {when}.

Each .json file is one part of it (manifest.json lists them and every media file):
  account.json        your profile, who you follow, your followers, blocks, sign-in tokens
  cameos.json         your cameos, their settings, lists, requests, where they appear, royalties
  generations.json    your generations (prompts included), your videos, your credits ledger
  posts.json          your posts, comments, likes, shares, hidden posts, what you watched
  feed_preferences.json  what you told the feed (steering), personalisation on or off
  moderation.json     reports you filed, appeals you made
  notifications.json  the notifications you received
media/ holds your videos, thumbnails, spritesheets, input references, cameo clips and
reference images.
"""


@dataclass(frozen=True)
class WrittenArchive:
    storage_path: str
    size_bytes: int
    file_count: int


def _dumps(data: Any) -> str:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=False)


def write_archive(*, sections: Iterable[ExportSection], storage_path: str, meta: dict[str, Any]) -> WrittenArchive:
    """Write the sections (and the files they name) as a ZIP stored at `storage_path`."""
    sections = list(sections)
    now = timezone.now()
    media: list[str] = []
    missing: list[dict[str, str]] = []
    with tempfile.TemporaryFile(suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("README.txt", README.format(when=now.isoformat()))
            seen: set[str] = set()
            for section in sections:
                zf.writestr(f"{section.name}.json", _dumps(section.data))
                for item in section.files:
                    if item.archive_path in seen:
                        continue
                    seen.add(item.archive_path)
                    try:
                        source = default_storage.open(item.storage_path, "rb")
                    except (OSError, ValueError):
                        # Listed but gone from storage (erased by a take-down, say): say so.
                        missing.append({"archive_path": item.archive_path, "reason": "not in storage"})
                        continue
                    info = zipfile.ZipInfo(item.archive_path, now.timetuple()[:6])
                    with source, zf.open(info, "w", force_zip64=True) as target:
                        shutil.copyfileobj(source, target, 1 << 20)
                    media.append(item.archive_path)
            manifest = {
                "format_version": FORMAT_VERSION,
                "generated_at": now,
                **meta,
                "sections": [f"{s.name}.json" for s in sections],
                "media": media,
                "missing_media": missing,
            }
            zf.writestr("manifest.json", _dumps(manifest))
        size = tmp.tell()
        tmp.seek(0)
        stored = default_storage.save(storage_path, File(tmp, name=storage_path.rsplit("/", 1)[-1]))
    return WrittenArchive(storage_path=stored, size_bytes=size, file_count=len(media))
