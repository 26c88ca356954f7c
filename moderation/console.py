"""Pieces of the moderators' console (Django admin at /console/): the forms behind the one-click
action buttons and the bulk actions, and the staff-only video stream the case page plays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from moderation.constants import ACTION_CHOICES, ACTION_LABELS, ActionKind
from moderation.notices import decision_message


class ActionForm(forms.Form):
    """What a moderator fills in after pressing an action button: a reason preset (its message is
    what the person reads) and, optionally, words of their own added after it; without a preset
    the reason is required."""

    kind = forms.ChoiceField(choices=ACTION_CHOICES, widget=forms.HiddenInput)
    preset = forms.CharField(required=False, max_length=64)
    reason = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "cols": 60, "placeholder": "Add to the message (optional; the person reads it)"}
        ),
    )
    suspend_days = forms.IntegerField(min_value=1, max_value=3650, required=False, help_text="suspend only")
    keep_video = forms.BooleanField(
        required=False,
        label="Keep the video up (only the caption breaks the rules)",
        help_text="remove on a post only",
    )

    def clean_reason(self) -> str:
        return " ".join((self.cleaned_data.get("reason") or "").split())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("preset") and not data.get("reason"):
            self.add_error("reason", "Choose a reason preset or give a reason.")
        return data


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


# --- the moderator's own pages: what they show, worked out once --------------------------------

SENTINEL = "\x00"


def describe_details(kind: str, details: dict[str, Any] | None) -> str:
    """An action's details as a sentence a moderator reads (not a Python dict)."""
    from moderation.presets import CASE_CATEGORIES, preset_get

    details = dict(details or {})
    parts: list[str] = []
    if details.get("post_removed"):
        parts.append("post removed")
    if details.get("comment_removed"):
        parts.append("comment removed")
    if "video_taken_down" in details and details.get("video_id"):
        video = details["video_id"]
        parts.append(f"video {video} taken down" if details["video_taken_down"] else f"video {video} left up")
    if details.get("videos_taken_down"):
        parts.append("videos taken down: " + ", ".join(str(v) for v in details["videos_taken_down"]))
    if details.get("cameo_disabled"):
        parts.append("cameo disabled")
    if kind == "age_restrict":
        parts.append("shown to adults only" if details.get("enforced") else "recorded; age limits not enforced")
    if details.get("until"):
        until = str(details["until"])[:16].replace("T", " ")
        days = details.get("days")
        parts.append(f"suspended until {until} UTC" + (f" ({days} days)" if days else ""))
    if details.get("automatic"):
        parts.append(f"automatic, after {details.get('strikes', '?')} strikes")
    if details.get("banned"):
        parts.append("account banned")
    if details.get("reversed_action"):
        label = ACTION_LABELS.get(details.get("reversed_kind", ""), "action").lower()
        parts.append(f"reverses {label} (action {details['reversed_action']})")
    if details.get("appeal_id"):
        parts.append(f"appeal {details['appeal_id']} granted")
    if details.get("preset"):
        preset = preset_get(details["preset"])
        parts.append(f"preset “{preset.label if preset else details['preset']}”")
    if details.get("category"):
        parts.append(f"category: {CASE_CATEGORIES.get(details['category'], details['category'])}")
    return "; ".join(parts) or "—"


def waited(seconds: float) -> str:
    """A short, exact-enough duration: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@dataclass
class QueueRow:
    case: Any
    categories: list[tuple[str, str]]  # (code, label)
    reports: list[Any]
    reporters: list[str]
    verdicts: list[dict[str, str]]
    waiting: str
    sla_due_s: float  # negative: overdue
    sla_text: str
    sla_state: str  # "ok", "soon", "overdue"
    thumbnail_url: str | None
    claimed_by_other: str  # handle of another moderator working it now, or ""
    claimed_by_me: bool


def queue_rows(cases: list[Any], *, viewer: Any, thumbnails: dict[int, int]) -> list[QueueRow]:
    """What each row of the console's queue shows (cases from selectors.console_queue, with their
    reports prefetched; `thumbnails`: case id → the video whose thumbnail it has)."""
    from moderation import selectors
    from moderation.presets import CASE_CATEGORIES
    from moderation.priority import sla_hours

    now = timezone.now()
    rows = []
    for case in cases:
        reports = list(case.reports.all())
        categories = selectors.case_categories(case, report_reasons=[r.reason for r in reports])
        appealed = case.status == "appealed" and getattr(case, "appeal_at", None) is not None
        started = case.appeal_at if appealed else case.opened_at
        due = started + timedelta(hours=sla_hours(case.priority, appealed=appealed))
        left = (due - now).total_seconds()
        verdicts = []
        for name, verdict in ((case.flags or {}).get("verdicts") or {}).items():
            if isinstance(verdict, dict):
                verdicts.append(
                    {
                        "layer": str(verdict.get("layer") or name),
                        "decision": str(verdict.get("decision") or "?"),
                        "code": str(verdict.get("code") or ""),
                    }
                )
        live_claim = case.claimed_by_id is not None and case.claimed_until and case.claimed_until > now
        rows.append(
            QueueRow(
                case=case,
                categories=[(c, CASE_CATEGORIES.get(c, c)) for c in categories],
                reports=reports,
                reporters=list(dict.fromkeys(f"@{r.reporter.handle}" for r in reports)),
                verdicts=verdicts,
                waiting=waited((now - case.opened_at).total_seconds()),
                sla_due_s=left,
                sla_text=(f"due in {waited(left)}" if left >= 0 else f"overdue by {waited(-left)}"),
                sla_state="overdue" if left < 0 else ("soon" if left < 1800 else "ok"),
                thumbnail_url=(reverse("console-case-thumbnail", args=[case.pk]) if case.pk in thumbnails else None),
                claimed_by_other=(case.claimed_by.handle if live_claim and case.claimed_by_id != viewer.pk else ""),
                claimed_by_me=bool(live_claim and case.claimed_by_id == viewer.pk),
            )
        )
    return rows


@dataclass
class PresetChoice:
    key: str  # "1".."9", or "" past the ninth
    code: str
    label: str
    kind: str
    kind_label: str
    category_label: str
    rule: str
    message: str


def preset_choices(*, target_type: str, categories: list[str], kinds: list[str]) -> list[PresetChoice]:
    """The presets a case page offers, those of the case's categories first, numbered 1–9."""
    from moderation.presets import CASE_CATEGORIES, presets_for_case

    choices = []
    for preset in presets_for_case(target_type=target_type, categories=categories):
        if preset.kind not in kinds:
            continue
        choices.append(
            PresetChoice(
                key=str(len(choices) + 1) if len(choices) < 9 else "",
                code=preset.code,
                label=preset.label,
                kind=preset.kind,
                kind_label=ACTION_LABELS.get(preset.kind, preset.kind),
                category_label=CASE_CATEGORIES.get(preset.category, "No violation"),
                rule=preset.rule,
                message=preset.message,
            )
        )
    return choices


def message_frames(
    *, target_type: str, kinds: list[str], strikes_next: int, suspend_until: str
) -> dict[str, list[str]]:
    """For each action kind, the text around the reason in what the person will read, so the
    case page previews the exact notification ([before, after]; the console joins them around
    the preset's message and the moderator's words). A dismissal tells only the reporters."""
    frames: dict[str, list[str]] = {}
    for kind in kinds:
        if kind == ActionKind.DISMISS:
            continue
        summary = decision_message(
            kind=kind, target_type=target_type, reason=SENTINEL, strikes=strikes_next, until=suspend_until
        )
        frames[kind] = list(message_frame_of(summary))
    return frames


def message_frame_of(summary: str) -> tuple[str, str]:
    """A notification summary with SENTINEL where the reason goes → the notification's text
    before and after the reason, with the notification's own wording ("Moderation: …") as the
    API renders it."""
    from sora_social.notifications.kinds import render

    prefix, _, suffix = render("moderation_decision", None, {"summary": SENTINEL}).partition(SENTINEL)
    before, _, after = summary.partition(SENTINEL)
    return prefix + before, after + suffix


# notifications.kinds.render cuts a notification's text at this length; the preview does too.
NOTIFICATION_TEXT_MAX = 300
