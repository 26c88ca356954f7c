"""Input and output serializers of the moderation API (reports, appeals, the moderators' queue)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from moderation.constants import ACTION_CHOICES, ACTION_LABELS, REASON_LABELS, TARGET_CHOICES, USER_REASON_CHOICES
from moderation.models import Action, Appeal, Case, Report
from moderation.notices import appeal_path
from moderation.presets import PRESETS
from moderation.selectors import action_is_appealable
from sora_social.common.serializers import InputSerializer

# --- inputs ---------------------------------------------------------------------------------


class ReportCreateInputSerializer(InputSerializer):
    target_type = serializers.ChoiceField(
        choices=TARGET_CHOICES, help_text="post, comment, user (an account), video, or cameo (cameo misuse)."
    )
    target_id = serializers.IntegerField(min_value=1)
    reason = serializers.ChoiceField(
        choices=USER_REASON_CHOICES,
        help_text="not_me_without_consent (posts, videos, cameos only) goes to the front of the queue.",
    )
    text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class AppealCreateInputSerializer(InputSerializer):
    text = serializers.CharField(max_length=2000, help_text="Why the decision is wrong.")


class ActionCreateInputSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=ACTION_CHOICES)
    reason = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="The person affected reads it. Required without a preset; with one, added after its message.",
    )
    preset = serializers.ChoiceField(
        choices=[p.code for p in PRESETS],
        required=False,
        allow_blank=True,
        default="",
        help_text="A reason preset (docs/moderation.md) for this kind of action.",
    )
    suspend_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True, default=None)
    keep_video = serializers.BooleanField(
        required=False, default=False, help_text="remove on a post: leave its video up (the caption was the problem)."
    )


class AppealDecisionInputSerializer(InputSerializer):
    decision = serializers.ChoiceField(choices=["upheld", "overturned"])
    reason = serializers.CharField(max_length=1000)


# --- outputs --------------------------------------------------------------------------------


class ReportOutputSerializer(serializers.ModelSerializer):
    reason_label = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = [
            "id",
            "target_type",
            "target_id",
            "reason",
            "reason_label",
            "text",
            "status",
            "outcome",
            "created_at",
            "resolved_at",
        ]

    def get_reason_label(self, report: Report) -> str:
        return REASON_LABELS.get(report.reason, report.reason)


class AppealOutputSerializer(serializers.ModelSerializer):
    action_id = serializers.IntegerField()

    class Meta:
        model = Appeal
        fields = ["id", "action_id", "status", "text", "decision_reason", "created_at", "decided_at"]


class DecisionOutputSerializer(serializers.ModelSerializer):
    """A decision as the person it affected sees it (no moderator names)."""

    kind_label = serializers.SerializerMethodField()
    appealable = serializers.SerializerMethodField()
    appeal_url = serializers.SerializerMethodField()
    reversed = serializers.SerializerMethodField()
    appeal = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id",
            "kind",
            "kind_label",
            "reason",
            "target_type",
            "target_id",
            "created_at",
            "reversed",
            "appealable",
            "appeal_url",
            "appeal",
        ]

    def get_kind_label(self, action: Action) -> str:
        return ACTION_LABELS.get(action.kind, action.kind)

    def get_appealable(self, action: Action) -> bool:
        return action_is_appealable(action)

    def get_appeal_url(self, action: Action) -> str | None:
        return appeal_path(action.pk) if action_is_appealable(action) else None

    def get_reversed(self, action: Action) -> bool:
        return bool(action.reversed_by.all())

    @extend_schema_field(AppealOutputSerializer(allow_null=True))
    def get_appeal(self, action: Action) -> dict[str, Any] | None:
        appeal = getattr(action, "appeal_made", None)
        return AppealOutputSerializer(appeal).data if appeal else None


class ModerationUserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    handle = serializers.CharField()


class CaseOutputSerializer(serializers.ModelSerializer):
    subject = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    claimed_by = serializers.SerializerMethodField(
        help_text="The moderator working on the case now (a claim that has not run out), or null."
    )
    queue_score = serializers.IntegerField(help_text="priority + one point per hour waiting (at most 24).")
    report_count = serializers.IntegerField()

    class Meta:
        model = Case
        fields = [
            "id",
            "target_type",
            "target_id",
            "subject",
            "status",
            "source",
            "priority",
            "queue_score",
            "top_reason",
            "reporter_count",
            "report_count",
            "assigned_to",
            "claimed_by",
            "claimed_until",
            "opened_at",
            "decided_at",
            "closed_at",
        ]

    def _user(self, user) -> dict[str, Any] | None:
        return {"id": user.pk, "handle": user.handle} if user else None

    @extend_schema_field(ModerationUserRefSerializer(allow_null=True))
    def get_subject(self, case: Case) -> dict[str, Any] | None:
        return self._user(case.subject_user)

    @extend_schema_field(ModerationUserRefSerializer(allow_null=True))
    def get_assigned_to(self, case: Case) -> dict[str, Any] | None:
        return self._user(case.assigned_to)

    @extend_schema_field(ModerationUserRefSerializer(allow_null=True))
    def get_claimed_by(self, case: Case) -> dict[str, Any] | None:
        live = case.claimed_until is not None and case.claimed_until > timezone.now()
        return self._user(case.claimed_by) if live else None


class CaseReportOutputSerializer(ReportOutputSerializer):
    reporter = serializers.SerializerMethodField()

    class Meta(ReportOutputSerializer.Meta):
        fields = [*ReportOutputSerializer.Meta.fields, "reporter"]

    @extend_schema_field(ModerationUserRefSerializer)
    def get_reporter(self, report: Report) -> dict[str, Any]:
        return {"id": report.reporter_id, "handle": report.reporter.handle}


class ActionOutputSerializer(serializers.ModelSerializer):
    """A decision as moderators see it in the audit log."""

    moderator = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    appeal = serializers.SerializerMethodField()

    class Meta:
        model = Action
        fields = [
            "id",
            "case_id",
            "kind",
            "reason",
            "moderator",
            "target_type",
            "target_id",
            "subject",
            "snapshot",
            "details",
            "reverses_id",
            "appeal",
            "created_at",
        ]

    @extend_schema_field(ModerationUserRefSerializer(allow_null=True))
    def get_moderator(self, action: Action) -> dict[str, Any] | None:
        m = action.moderator
        return {"id": m.pk, "handle": m.handle} if m else None

    @extend_schema_field(ModerationUserRefSerializer(allow_null=True))
    def get_subject(self, action: Action) -> dict[str, Any] | None:
        s = action.subject_user
        return {"id": s.pk, "handle": s.handle} if s else None

    @extend_schema_field(AppealOutputSerializer(allow_null=True))
    def get_appeal(self, action: Action) -> dict[str, Any] | None:
        appeal = getattr(action, "appeal_made", None)
        return AppealOutputSerializer(appeal).data if appeal else None


class CaseDetailOutputSerializer(serializers.Serializer):
    case = CaseOutputSerializer()
    snapshot = serializers.DictField(help_text="The target as it is now (caption, body, author, prompt...).")
    video_id = serializers.IntegerField(allow_null=True)
    policy = serializers.DictField(help_text="What the policy layers said about the video, if generated.")
    reports = CaseReportOutputSerializer(many=True)
    actions = ActionOutputSerializer(many=True)
    pending_appeal = AppealOutputSerializer(allow_null=True)
    subject_strikes = serializers.IntegerField()
    allowed_actions = serializers.ListField(child=serializers.CharField())


class CaseQueueOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Cases matching the filters.")
    results = CaseOutputSerializer(many=True)


class ModeratorCountSerializer(serializers.Serializer):
    moderator_id = serializers.IntegerField()
    handle = serializers.CharField()
    decisions = serializers.IntegerField(help_text="actions + appeals decided")
    actions = serializers.IntegerField(help_text="Actions taken on cases (not counting restores made by appeals).")
    appeals = serializers.IntegerField(help_text="Appeals decided.")


class MachineLayerUpholdSerializer(serializers.Serializer):
    layer = serializers.CharField(help_text="The policy layer that asked for review (classifier, likeness, ...).")
    flagged_cases_decided = serializers.IntegerField()
    upheld = serializers.IntegerField(help_text="First decision was not a dismissal.")
    dismissed = serializers.IntegerField()
    uphold_rate = serializers.FloatField()


class MetricsOutputSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    queue_length = serializers.IntegerField(help_text="Cases waiting now (open + appealed).")
    queue_by_status = serializers.DictField(child=serializers.IntegerField())
    queue_by_target_type = serializers.DictField(child=serializers.IntegerField())
    oldest_waiting_s = serializers.FloatField(allow_null=True)
    median_waiting_s = serializers.FloatField(allow_null=True, help_text="Median wait of the cases waiting now.")
    p90_waiting_s = serializers.FloatField(allow_null=True)
    cases_decided = serializers.IntegerField()
    median_time_to_decision_s = serializers.FloatField(allow_null=True, help_text="Opened to first decision.")
    p90_time_to_decision_s = serializers.FloatField(allow_null=True)
    time_to_decision_s = serializers.DictField(
        child=serializers.FloatField(allow_null=True), help_text="Percentiles p50, p75, p90, p95, p99."
    )
    decisions_per_category = serializers.DictField(
        child=serializers.IntegerField(), help_text="Moderators' decisions by category (the preset's, else the case's)."
    )
    decisions_per_moderator = ModeratorCountSerializer(many=True)
    actions_by_kind = serializers.DictField(child=serializers.IntegerField())
    automatic_actions = serializers.IntegerField()
    appeals_decided = serializers.IntegerField()
    appeals_overturned = serializers.IntegerField()
    appeal_overturn_rate = serializers.FloatField(allow_null=True, help_text="Overturned / decided appeals.")
    machine_layers = MachineLayerUpholdSerializer(
        many=True, help_text="How often moderators uphold each machine layer's review flags."
    )
