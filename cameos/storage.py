"""Private files of cameos (verification clips, reference images) through Django's storage API.

Paths live under `private/cameos/<owner id>/<random folder>/`: never linked from MEDIA_URL,
never given to anyone but the owner, and read back only by the owner-only download endpoints
and the verification worker. On S3 the bucket's ACL is private (settings).
"""

from __future__ import annotations

import contextlib
import posixpath
import uuid

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

VIDEO_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
}


def new_private_folder(owner_id: int) -> str:
    return f"private/cameos/{owner_id}/{uuid.uuid4().hex}"


def clip_extension(format_name: str) -> str:
    """A file extension for the container PyAV recognised (never the client's file name)."""
    names = set(format_name.split(","))
    if names & {"mp4", "mov", "m4a", "3gp", "3g2", "mj2"}:
        return ".mp4"
    if "webm" in names:
        return ".webm"
    if "matroska" in names:
        return ".mkv"
    return ".video"


# What a stored clip is answered as (content_type_for): the containers clip_extension keeps.
CLIP_CONTENT_TYPES = [*dict.fromkeys(VIDEO_CONTENT_TYPES.values()), "application/octet-stream"]


def content_type_for(path: str) -> str:
    ext = posixpath.splitext(path)[1].lower()
    if ext == ".png":
        return "image/png"
    return VIDEO_CONTENT_TYPES.get(ext, "application/octet-stream")


def save(path: str, content: File | bytes) -> str:
    """Store content at `path` exactly (a clash is a bug: folders are random); the stored name."""
    if isinstance(content, bytes):
        content = ContentFile(content)
    if hasattr(content, "seek"):
        content.seek(0)
    return default_storage.save(path, content)


def open_file(path: str):
    return default_storage.open(path, "rb")


def delete_quietly(paths: list[str]) -> None:
    """Remove files (after a rollback or a cameo's deletion); a missing one is fine."""
    for path in paths:
        if path:
            with contextlib.suppress(OSError):
                default_storage.delete(path)
