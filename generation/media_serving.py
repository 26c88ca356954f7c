"""How the bytes of a stored file reach a client, once a view has decided the client may have them.

Three ways, by deployment (docs/SCALING.md, "Media"):
- object storage (STORAGE_BACKEND=s3): a 302 to a presigned GET URL of the object, valid for
  MEDIA_PRESIGNED_TTL_S (minutes); the object store (or the CDN before it) serves the bytes and
  every Range request. The redirect itself is never cached longer than the URL lives.
- filesystem behind nginx (MEDIA_ACCEL_REDIRECT_PREFIX set): an empty answer with
  X-Accel-Redirect; nginx sends the file with sendfile and handles Range itself.
- filesystem, Django alone (development, tests): Django streams the file, with Range.

The view has already checked the signed link, the viewer and the visibility of the video: a
presigned URL or an internal redirect is only ever issued after those checks, on each request.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def file_response(
    request,
    field: FieldFile,
    *,
    content_type: str,
    disposition: str | None = None,
    cache: str = "private, max-age=3600",
) -> HttpResponse:
    """The response that delivers `field` to the client that asked in `request`."""
    if settings.STORAGE_BACKEND == "s3":
        parameters = {"ResponseContentType": content_type, "ResponseCacheControl": cache}
        if disposition:
            parameters["ResponseContentDisposition"] = disposition
        url = field.storage.url(field.name, parameters=parameters, expire=settings.MEDIA_PRESIGNED_TTL_S)
        response = HttpResponseRedirect(url)
        # The redirect carries a grant: it must not outlive it in any cache.
        response["Cache-Control"] = "private, no-store"
        return response
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_REDIRECT_PREFIX + quote(field.name)
    else:
        handle = field.open("rb")
        range_header = request.headers.get("Range")
        if range_header:
            response = _ranged_response(handle, field.size, content_type, range_header)
        else:
            response = FileResponse(handle, content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    # Private: who may read it depends on the viewer; shared caches must not keep it.
    response["Cache-Control"] = cache
    if disposition:
        response["Content-Disposition"] = disposition
    return response


def _ranged_response(handle, size: int, content_type: str, range_header: str) -> HttpResponse:
    """Serve one byte range (players seek with Range; iOS will not play MP4 without it)."""
    match = _RANGE.match(range_header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        handle.close()
        return _unsatisfiable(size)
    if match.group(1):
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else size - 1
    else:  # "bytes=-N": the last N bytes
        start = max(0, size - int(match.group(2)))
        end = size - 1
    end = min(end, size - 1)
    if start > end or start >= size:
        handle.close()
        return _unsatisfiable(size)
    handle.seek(start)
    length = end - start + 1

    def chunks():
        remaining = length
        try:
            while remaining > 0:
                block = handle.read(min(64 * 1024, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block
        finally:
            handle.close()

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(length)
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response
