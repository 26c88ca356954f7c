"""The moderator's own pages in the console (session auth, staff with view_case): the queue it
opens on, claiming, the next case, thumbnails and the metrics page. Thin: reads come from
moderation.selectors, writes go through moderation.services. The case page itself is
CaseAdmin's (admin.py); Django admin stays for the raw data under /console/data/.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from moderation import selectors, services, targets
from moderation.apis import metrics_window
from moderation.console import file_response, queue_rows
from moderation.constants import TARGET_LABELS
from moderation.models import Case
from moderation.presets import CASE_CATEGORIES
from moderation.roles import is_moderator
from sora_social.common.errors import ApplicationError

QUEUE_PAGE_SIZE = 50
QUEUE_FILTERS = ("category", "source", "target_type", "likeness_first", "claim")


def _require_view(request: HttpRequest) -> None:
    if not request.user.has_perm("moderation.view_case"):
        raise PermissionDenied


def _filters_from(params) -> dict[str, str | bool]:
    """The queue's filters from a query string or a form, unknown values dropped."""
    category = params.get("category", "")
    source = params.get("source", "")
    target_type = params.get("target_type", "")
    claim = params.get("claim", "")
    return {
        "category": category if category in CASE_CATEGORIES else "",
        "source": source if source in ("reported", "machine") else "",
        "target_type": target_type if target_type in TARGET_LABELS else "",
        "likeness_first": params.get("likeness_first") in ("1", "on", "true"),
        "claim": claim if claim in ("mine", "free") else "",
    }


def _query_of(filters: dict[str, str | bool]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: ("1" if v is True else v) for k, v in filters.items() if v})


def queue_view(request: HttpRequest) -> HttpResponse:
    """The console's front page: waiting cases, most urgent first, each with what it needs at a
    glance; Enter on a row claims the case and opens it."""
    _require_view(request)
    filters = _filters_from(request.GET)
    rows = selectors.console_queue(viewer=request.user, **filters)
    total = rows.count()
    cases = list(rows[:QUEUE_PAGE_SIZE])
    context = {
        **admin.site.each_context(request),
        "title": "Case queue",
        "rows": queue_rows(cases, viewer=request.user, thumbnails=targets.thumbnail_videos_of_cases(cases)),
        "total": total,
        "shown": len(cases),
        "filters": filters,
        "filter_query": _query_of(filters),
        "categories": sorted(CASE_CATEGORIES.items(), key=lambda item: item[1]),
        "target_types": list(TARGET_LABELS.items()),
        "may_act": is_moderator(request.user),
    }
    return TemplateResponse(request, "moderation/console/queue.html", context)


def _case_page(case_id: int, filter_query: str = "") -> str:
    url = reverse("admin:moderation_case_change", args=[case_id])
    return f"{url}?{filter_query}" if filter_query else url


def case_claim_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """Claim a case and open it. If another moderator is working on it, it opens read-only and
    says who."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _require_view(request)
    case = get_object_or_404(Case, pk=case_id)
    try:
        services.case_claim(case=case, moderator=request.user)
    except ApplicationError as exc:
        messages.warning(request, exc.message)
    return HttpResponseRedirect(_case_page(case.pk, _query_of(_filters_from(request.POST))))


def case_release_view(request: HttpRequest, case_id: int) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _require_view(request)
    case = get_object_or_404(Case, pk=case_id)
    services.case_release(case=case, moderator=request.user)
    messages.info(request, f"Case {case.pk} released.")
    return HttpResponseRedirect(f"{reverse('console-queue')}?{_query_of(_filters_from(request.POST))}")


def case_next_view(request: HttpRequest) -> HttpResponse:
    """Claim the most urgent case nobody is working on (the queue's filters apply) and open it."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _require_view(request)
    filters = _filters_from(request.POST)
    after = Case.objects.filter(pk=request.POST.get("after") or 0).first()
    if after is not None:
        services.case_release(case=after, moderator=request.user)
    case = services.case_claim_next(moderator=request.user, after=after, **filters)
    if case is None:
        messages.info(request, "Nothing left in the queue for these filters.")
        return HttpResponseRedirect(f"{reverse('console-queue')}?{_query_of(filters)}")
    return HttpResponseRedirect(_case_page(case.pk, _query_of(filters)))


def case_thumbnail_view(request: HttpRequest, case_id: int) -> HttpResponse:
    """The thumbnail of a case's video for the queue (taken-down videos included, staff only)."""
    _require_view(request)
    case = get_object_or_404(Case, pk=case_id)
    thumbnail = targets.video_thumbnail_of_case(case)
    if not thumbnail:
        raise Http404("This case has no thumbnail.")
    return file_response(thumbnail, content_type="image/jpeg", range_header=None)


def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics page: the same numbers as GET /api/v1/moderation/metrics, for the same window."""
    _require_view(request)
    try:
        since, until, period = metrics_window(request.GET)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        since, until, period = metrics_window({})
    metrics = selectors.moderation_metrics(since=since, until=until)
    context = {
        **admin.site.each_context(request),
        "title": "Moderation metrics",
        "m": metrics,
        "period": period,
        "periods": [("day", "Last day"), ("week", "Last 7 days"), ("month", "Last 30 days"), ("all", "All time")],
        "category_rows": [
            (code, CASE_CATEGORIES.get(code, "No violation" if code == "none" else code), n)
            for code, n in metrics["decisions_per_category"].items()
        ],
        "now": timezone.now(),
        "api_url": f"{reverse('moderation-metrics')}?{request.GET.urlencode()}",
    }
    return TemplateResponse(request, "moderation/console/metrics.html", context)
