"""Decoding images that clients send (input references, avatars) without trusting their header.

A PNG of 30000×30000 pixels is a few hundred KB on the wire and 2.7 GB once decoded. Pillow
raises DecompressionBombError (not an OSError) above twice its own MAX_IMAGE_PIXELS and only
warns below that, so the size is checked here, from the header, before a pixel is decoded.
"""

from __future__ import annotations

from io import BytesIO
from typing import IO

from PIL import Image, UnidentifiedImageError

from sora_social.common.errors import ApplicationError

MAX_IMAGE_PIXELS = 4096 * 4096  # far more than any use here needs (references become 1024 px)


def image_decode(file: IO[bytes], *, field: str, invalid_code: str, invalid_message: str) -> Image.Image:
    """The image in `file`, decoded. A 400 `invalid_code` for what Pillow cannot read, a 400
    `image_too_large` for more than MAX_IMAGE_PIXELS, both naming `field`. `file` is left open
    where it was (closing an image closes the file Pillow read, so it reads a copy)."""
    start = file.tell()
    data = BytesIO(file.read())
    file.seek(start)
    try:
        image = Image.open(data)
    except Image.DecompressionBombError as exc:
        raise _too_large(field) from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ApplicationError(invalid_code, invalid_message, fields={field: [invalid_message]}) from exc
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise _too_large(field)
    try:
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        image.close()
        raise ApplicationError(invalid_code, invalid_message, fields={field: [invalid_message]}) from exc
    return image


def _too_large(field: str) -> ApplicationError:
    side = int(MAX_IMAGE_PIXELS**0.5)
    return ApplicationError(
        "image_too_large",
        f"The image has more than {MAX_IMAGE_PIXELS:,} pixels ({side}×{side}).",
        fields={field: ["Too many pixels."]},
    )
