"""Pieces of the moderators' console (Django admin at /console/): the forms behind the one-click
action buttons and the bulk actions, and the staff-only video stream the case page plays."""

from __future__ import annotations

import re

from django import forms
from django.http import FileResponse, HttpResponse, StreamingHttpResponse

from moderation.constants import ACTION_CHOICES, ActionKind


class ActionForm(forms.Form):
    """What a moderator fills in after clicking an action button: the reason is required."""

    kind = forms.ChoiceField(choices=ACTION_CHOICES, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "Why (the person affected reads this)"}),
    )
    suspend_days = forms.IntegerField(min_value=1, max_value=3650, required=False, help_text="suspend only")
    keep_video = forms.BooleanField(
        required=False,
        label="Keep the video up (only the caption breaks the rules)",
        help_text="remove on a post only",
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise forms.ValidationError("Give a reason.")
        return reason


class AppealDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("upheld", "Uphold the decision"), ("overturned", "Overturn it (restore)")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


class BulkActionForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60, "placeholder": "One reason for all"})
    )
    keep_video = forms.BooleanField(required=False, label="Keep the videos up (posts only)")


BULK_KINDS = {
    "bulk_dismiss": ActionKind.DISMISS,
    "bulk_remove": ActionKind.REMOVE,
    "bulk_warn": ActionKind.WARN,
}

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _chunks(handle, start: int, length: int):
    handle.seek(start)
    remaining = length
    try:
        while remaining > 0:
            data = handle.read(min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def file_response(field, *, content_type: str, range_header: str | None) -> HttpResponse:
    """The file, or the byte range a <video> element asks for (seeking needs 206 answers)."""
    size = field.size
    handle = field.open("rb")
    match = _RANGE.match(range_header or "")
    if not match or (not match.group(1) and not match.group(2)):
        response = FileResponse(handle, content_type=content_type)
    else:
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # the last N bytes
            start = max(0, size - int(last))
            end = size - 1
        if start >= size or start > end:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        length = end - start + 1
        response = StreamingHttpResponse(_chunks(handle, start, length), status=206, content_type=content_type)
        response["Content-Length"] = str(length)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    # Staff-only evidence: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
