"""The moderators' console: the case queue, the case page with its one-click actions, bulk
actions, appeals, and the read-only audit trail. Every decision goes through moderation.services.

Who may do what is Django's permission system (the `moderator` group, moderation/roles.py):
view_case to see the queue, add_action to act, change_appeal to decide appeals. Nothing here
edits, adds or deletes actions, reports or appeals directly.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from moderation import console_views, limits, notices, selectors, services, targets
from moderation.console import (
    BULK_KINDS,
    NOTIFICATION_TEXT_MAX,
    SENTINEL,
    ActionForm,
    AppealDecisionForm,
    BulkActionForm,
    describe_details,
    file_response,
    message_frame_of,
    message_frames,
    preset_choices,
)
from moderation.constants import ACTION_LABELS, ACTIONS_FOR_TARGET, REASON_LABELS, ActionKind, TargetType
from moderation.models import Action, Appeal, BannedMediaHash, Case, CaseStatus, Report
from moderation.presets import APPEAL_PRESETS, CASE_CATEGORIES
from sora_social.common.errors import ApplicationError

# The console's name, unless the project named it already.
if admin.site.site_header == "Django administration":
    admin.site.site_header = "sora_social console"
    admin.site.site_title = "sora_social console"
# The console opens on the queue (moderation/console_urls.py); Django's model index is the raw
# data page, whose "Recent actions" lists the moderator's own decisions.
admin.site.index_template = "moderation/console/data_index.html"
admin.site.index_title = "Raw data"


# One key per decision on the case page (digits 1–9 pick a reason preset directly).
DECISION_KEYS: dict[str, str] = {
    ActionKind.REMOVE: "r",
    ActionKind.AGE_RESTRICT: "a",
    ActionKind.WARN: "w",
    ActionKind.STRIKE: "s",
    ActionKind.SUSPEND: "u",
    ActionKind.BAN: "b",
    ActionKind.DISMISS: "d",
    ActionKind.RESTORE: "t",
}


def _may_act(request: HttpRequest) -> bool:
    return request.user.has_perm("moderation.add_action")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable by those with the view permission; never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- the queue ---------------------------------------------------------------------------------


class QueueStatusFilter(admin.SimpleListFilter):
    """Waiting cases (open + appealed) unless another status is asked for."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [*CaseStatus.choices, ("all", "Any status")]

    def queryset(self, request, queryset):
        value = self.value()
        if value in (None, ""):
            return queryset.filter(status__in=selectors.QUEUE_STATUSES)
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def choices(self, changelist):
        yield {
            "selected": self.value() in (None, ""),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Waiting (open + appealed)",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class ReasonFilter(admin.SimpleListFilter):
    title = "reason"
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        return list(REASON_LABELS.items())

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(pk__in=Case.objects.filter(top_reason=value).values("pk")) | queryset.filter(
            pk__in=Report.objects.filter(reason=value).values("case_id")
        )


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "To me"), ("nobody", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "target_link",
        "reason_display",
        "reporter_count",
        "queue_score_display",
        "status",
        "waiting",
        "subject_display",
        "assigned_to",
    )
    list_display_links = ("id", "target_link")
    list_filter = (QueueStatusFilter, "target_type", ReasonFilter, "source", AssignedFilter)
    search_fields = ("id__exact", "target_id__exact", "subject_user__handle", "reports__text")
    list_per_page = 50
    actions = ("bulk_dismiss", "bulk_remove", "bulk_warn", "assign_to_me")
    readonly_fields = [f.name for f in Case._meta.fields]

    # Permissions: cases appear on their own (opened by reports or policy flags); never deleted.
    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_decide_permission(self, request) -> bool:
        return _may_act(request)

    def get_queryset(self, request):
        return selectors.cases_annotated()

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Case queue", **(extra_context or {})})

    def get_ordering(self, request):
        # Most urgent first: priority plus the age bonus (moderation/priority.py), oldest on ties.
        return ["-queue_score", "opened_at", "id"]

    # --- columns ---
    @admin.display(description="target")
    def target_link(self, case: Case) -> str:
        return case.target_label

    @admin.display(description="reason", ordering="top_reason")
    def reason_display(self, case: Case) -> str:
        label = REASON_LABELS.get(case.top_reason, case.top_reason or "—")
        if case.priority >= 1000:
            return format_html('<strong style="color:#ba2121">⚑ {}</strong>', label)
        return label

    @admin.display(description="priority", ordering="queue_score")
    def queue_score_display(self, case: Case) -> int:
        return case.queue_score

    @admin.display(description="waiting", ordering="opened_at")
    def waiting(self, case: Case) -> str:
        return timesince(case.opened_at)

    @admin.display(description="about", ordering="subject_user__handle")
    def subject_display(self, case: Case) -> str:
        return f"@{case.subject_user.handle}" if case.subject_user else "—"

    # --- bulk actions ---
    def _bulk(self, request, queryset, action_name: str):
        kind = BULK_KINDS[action_name]
        if "apply" in request.POST:
            form = BulkActionForm(request.POST)
            if form.is_valid():
                result = services.actions_take_bulk(
                    cases=list(queryset.order_by("pk")),
                    moderator=request.user,
                    kind=kind,
                    reason=form.cleaned_data["reason"],
                    keep_video=form.cleaned_data["keep_video"],
                )
                if result.done:
                    self.message_user(
                        request, f"{ACTION_LABELS[kind]}: {len(result.done)} case(s) done.", messages.SUCCESS
                    )
                for case, why in result.skipped:
                    self.message_user(request, f"Case {case.pk} skipped: {why}", messages.WARNING)
                return None
        else:
            form = BulkActionForm()
        context = {
            **self.admin_site.each_context(request),
            "title": f"{ACTION_LABELS[kind]} {queryset.count()} case(s)",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_name": action_name,
            "action_label": ACTION_LABELS[kind],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "show_keep_video": kind == ActionKind.REMOVE,
        }
        return TemplateResponse(request, "admin/moderation/case/bulk_action.html", context)

    @admin.action(description="Dismiss selected cases (asks for a reason)", permissions=["decide"])
    def bulk_dismiss(self, request, queryset):
        return self._bulk(request, queryset, "bulk_dismiss")

    @admin.action(description="Remove the content of selected cases (asks for a reason)", permissions=["decide"])
    def bulk_remove(self, request, queryset):
        return self._bulk(request, queryset, "bulk_remove")

    @admin.action(description="Warn the authors of selected cases (asks for a reason)", permissions=["decide"])
    def bulk_warn(self, request, queryset):
        return self._bulk(request, queryset, "bulk_warn")

    @admin.action(description="Assign selected cases to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        for case in queryset:
            services.case_assign(case=case, moderator=request.user, by=request.user)
        self.message_user(request, f"{queryset.count()} case(s) assigned to you.", messages.SUCCESS)

    # --- the case page and its buttons ---
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:case_id>/act/", wrap(self.act_view), name="moderation_case_act"),
            path("<int:case_id>/video/", wrap(self.video_view), name="moderation_case_video"),
            path("<int:case_id>/assign/", wrap(self.assign_view), name="moderation_case_assign"),
            path("<int:case_id>/appeal/", wrap(self.appeal_view), name="moderation_case_appeal"),
            *super().get_urls(),
        ]

    def _case_or_404(self, request, case_id: int) -> Case:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(selectors.cases_annotated(), pk=case_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        try:
            case_id = int(object_id)
        except ValueError as exc:
            raise Http404 from exc
        case = self._case_or_404(request, case_id)
        return self._render_case(request, case)

    def _render_case(self, request, case: Case, *, form: ActionForm | None = None, status: int = 200):
        review = selectors.case_review(case=case)
        restorable = selectors.case_restorable(case)
        # "Restore" only where something is removed or restricted.
        kinds = [k for k in ACTIONS_FOR_TARGET.get(case.target_type, ()) if k != ActionKind.RESTORE or restorable]
        appeal = review.pending_appeal
        filters = console_views._filters_from(request.GET)
        filter_query = console_views._query_of(filters)
        # Previous and next in the queue (as filtered), among cases nobody else is working on.
        order = list(
            selectors.console_queue(viewer=request.user, **{**filters, "claim": "free"}).values_list("pk", flat=True)[
                :500
            ]
        )
        position = order.index(case.pk) if case.pk in order else -1
        prev_case = order[position - 1] if position > 0 else None
        next_case = (
            order[position + 1] if 0 <= position < len(order) - 1 else (order[0] if position < 0 and order else None)
        )
        now = timezone.now()
        claimed_by_other = (
            case.claimed_by
            if case.claimed_by_id and case.claimed_by_id != request.user.pk and case.claimed_until > now
            else None
        )
        categories = selectors.case_categories(case, report_reasons=[r.reason for r in review.reports])
        for action in review.actions:
            action.details_text = describe_details(action.kind, action.details)
        presets = preset_choices(target_type=case.target_type, categories=categories, kinds=list(kinds))
        strikes_next = review.history.strikes_active + 1
        suspend_until = (now + timedelta(days=limits.suspension_days_default())).isoformat()
        context = {
            **self.admin_site.each_context(request),
            "title": f"Case {case.pk}: {case.target_label}",
            "opts": self.model._meta,
            "case": case,
            "review": review,
            "buttons": [(k, ACTION_LABELS[k], DECISION_KEYS.get(k, "")) for k in kinds],
            "may_act": _may_act(request) and case.status != CaseStatus.APPEALED and claimed_by_other is None,
            "claimed_by_other": claimed_by_other,
            "claimed_by_me": case.claimed_by_id == request.user.pk and case.claimed_until and case.claimed_until > now,
            "waiting_case": case.status in selectors.QUEUE_STATUSES,
            "categories": [(c, CASE_CATEGORIES.get(c, c)) for c in categories],
            "presets": presets,
            "presets_json": [
                {"key": p.key, "code": p.code, "kind": p.kind, "label": p.label, "message": p.message, "rule": p.rule}
                for p in presets
            ],
            "frames": message_frames(
                target_type=case.target_type, kinds=list(kinds), strikes_next=strikes_next, suspend_until=suspend_until
            ),
            "notification_max": NOTIFICATION_TEXT_MAX,
            "suspend_days_default": limits.suspension_days_default(),
            "reporter_preview": notices.reporter_message(kind=ActionKind.DISMISS, target_type=case.target_type),
            "appeal_frames": {
                choice: list(message_frame_of(notices.appeal_message(uphold=choice == "upheld", reason=SENTINEL)))
                for choice in ("upheld", "overturned")
            },
            "decision_keys": DECISION_KEYS,
            "appeal_presets": APPEAL_PRESETS,
            "filter_query": filter_query,
            "filters": filters,
            "prev_case": prev_case,
            "action_form": form or ActionForm(),
            "appeal": appeal,
            "may_decide_appeal": bool(
                appeal
                and request.user.has_perm("moderation.change_appeal")
                and appeal.action.moderator_id != request.user.pk
                and claimed_by_other is None
            ),
            "appeal_form": AppealDecisionForm(),
            "history": review.history,
            "strike_limit": limits.strikes_to_suspend(),
            "is_post": case.target_type == TargetType.POST,
            "next_case": next_case,
            "age_restrict_enforced": targets.age_restrict_service() is not None,
            "video_url": (
                reverse("admin:moderation_case_video", args=[case.pk]) if review.video_id is not None else None
            ),
        }
        return TemplateResponse(request, "admin/moderation/case/review.html", context, status=status)

    def act_view(self, request, case_id: int) -> HttpResponse:
        case = self._case_or_404(request, case_id)
        if not _may_act(request):
            raise PermissionDenied
        if request.method == "GET":
            form = ActionForm(initial={"kind": request.GET.get("kind", ActionKind.REMOVE)})
            context = {
                **self.admin_site.each_context(request),
                "title": f"Case {case.pk}: {ACTION_LABELS.get(form['kind'].value(), 'Act')}",
                "opts": self.model._meta,
                "case": case,
                "form": form,
            }
            return TemplateResponse(request, "admin/moderation/case/act.html", context)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        form = ActionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose a reason preset or give a reason.")
            return self._render_case(request, case, form=form, status=400)
        data = form.cleaned_data
        try:
            action = services.action_take(
                case=case,
                moderator=request.user,
                kind=data["kind"],
                reason=data["reason"],
                preset=data.get("preset") or "",
                suspend_days=data.get("suspend_days"),
                keep_video=bool(data.get("keep_video")),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self._render_case(request, case, form=form, status=exc.status_code)
        messages.success(
            request, f"Case {case.pk} — {ACTION_LABELS[action.kind]}: done and logged (action {action.pk})."
        )
        # Back to the queue (as it was filtered), ready for the next case.
        filters = console_views._query_of(console_views._filters_from(request.POST))
        return HttpResponseRedirect(f"{reverse('console-queue')}?{filters}" if filters else reverse("console-queue"))

    def appeal_view(self, request, case_id: int) -> HttpResponse:
        case = self._case_or_404(request, case_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("moderation.change_appeal"):
            raise PermissionDenied
        appeal = selectors.pending_appeal_of(case)
        if appeal is None:
            messages.error(request, "No appeal is waiting on this case.")
            return HttpResponseRedirect(reverse("admin:moderation_case_change", args=[case.pk]))
        form = AppealDecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose uphold or overturn and give a reason.")
            return HttpResponseRedirect(reverse("admin:moderation_case_change", args=[case.pk]))
        try:
            services.appeal_decide(
                appeal=appeal,
                moderator=request.user,
                uphold=form.cleaned_data["decision"] == "upheld",
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return self._render_case(request, case, status=exc.status_code)
        messages.success(request, f"Case {case.pk} — appeal decided and logged.")
        return HttpResponseRedirect(reverse("console-queue"))

    def assign_view(self, request, case_id: int) -> HttpResponse:
        case = self._case_or_404(request, case_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request, case):
            raise PermissionDenied
        release = request.POST.get("release") == "1"
        services.case_assign(case=case, moderator=None if release else request.user, by=request.user)
        return HttpResponseRedirect(reverse("admin:moderation_case_change", args=[case.pk]))

    def video_view(self, request, case_id: int) -> HttpResponse:
        """The case's video for the inline player: staff sessions with view_case only, taken-down
        videos included (a moderator reviewing an appeal must see what was removed)."""
        from generation.models import Video

        case = self._case_or_404(request, case_id)
        video_id = selectors.case_video_id(case=case)
        video = Video.objects.filter(pk=video_id).first() if video_id is not None else None
        if video is None or not video.file:
            raise Http404("This case has no video.")
        return file_response(video.file, content_type=video.content_type, range_header=request.headers.get("Range"))


# --- the audit trail and the rest (read-only) --------------------------------------------------


@admin.register(Action)
class ActionAdmin(ReadOnlyAdmin):
    """The audit log: every decision, who took it, why, and what the target looked like."""

    # Few, narrow columns and a reason that wraps: at 1366 px the reason is read in full.
    list_display = (
        "created_at",
        "kind",
        "case_link",
        "target_display",
        "moderator_display",
        "reason_display",
        "details_display",
    )
    list_filter = ("kind", "target_type", ("moderator", admin.RelatedOnlyFieldListFilter))
    search_fields = ("reason", "subject_user__handle", "moderator__handle", "case__id__exact", "target_id__exact")
    date_hierarchy = "created_at"
    list_select_related = ("case", "subject_user", "moderator", "reverses")
    ordering = ("-created_at", "-id")
    readonly_fields = [*(f.name for f in Action._meta.fields if f.name != "details"), "details_display"]
    exclude = ("details",)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Audit log", **(extra_context or {})})

    @admin.display(description="target", ordering="target_type")
    def target_display(self, action: Action) -> str:
        about = f" of @{action.subject_user.handle}" if action.subject_user else ""
        return f"{action.get_target_type_display()} {action.target_id}{about}"

    @admin.display(description="details")
    def details_display(self, action: Action) -> str:
        return describe_details(action.kind, action.details)

    @admin.display(description="case", ordering="case_id")
    def case_link(self, action: Action) -> str:
        url = reverse("admin:moderation_case_change", args=[action.case_id])
        return format_html('<a href="{}">case {}</a>', url, action.case_id)

    @admin.display(description="moderator", ordering="moderator__handle")
    def moderator_display(self, action: Action) -> str:
        return f"@{action.moderator.handle}" if action.moderator else "(automatic)"

    @admin.display(description="reason")
    def reason_display(self, action: Action) -> str:
        return format_html('<span class="audit-reason">{}</span>', action.reason)


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "reporter", "target_type", "target_id", "reason", "status", "outcome", "case")
    list_filter = ("reason", "target_type", "status")
    search_fields = ("text", "reporter__handle", "target_id__exact", "case__id__exact")
    list_select_related = ("reporter", "case")
    ordering = ("-created_at", "-id")
    readonly_fields = [f.name for f in Report._meta.fields]


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    """Appeals are decided on their case's page (by a moderator other than the one who acted)."""

    list_display = ("id", "created_at", "appellant", "action", "status", "acted_by", "decided_by", "case_link")
    list_filter = ("status",)
    search_fields = ("appellant__handle", "text")
    list_select_related = ("appellant", "action", "acted_by", "decided_by")
    ordering = ("status", "created_at")
    readonly_fields = [f.name for f in Appeal._meta.fields]

    @admin.display(description="case")
    def case_link(self, appeal: Appeal) -> str:
        url = reverse("admin:moderation_case_change", args=[appeal.action.case_id])
        return format_html('<a href="{}">decide on case {}</a>', url, appeal.action.case_id)


@admin.register(BannedMediaHash)
class BannedMediaHashAdmin(ReadOnlyAdmin):
    list_display = ("hash", "source", "reason", "created_at")
    search_fields = ("=hash", "source")
    ordering = ("-created_at",)
