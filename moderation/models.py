"""Moderation data: the case layer's reports, cases, actions (the append-only audit log) and
appeals. The banned-media list belongs to the policy layer (moderation.policy.store); it is
imported here so Django registers it with this app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from moderation.constants import (
    ACTION_CHOICES,
    REASON_CHOICES,
    TARGET_CHOICES,
    TARGET_LABELS,
    ActionKind,
    Reason,
    TargetType,
)
from moderation.policy.store import BannedMediaHash as BannedMediaHash  # the policy layer's table, registered here

# --- The case layer: reports, cases, actions (the audit log), appeals -------------------------
# What is reported and decided lives here; the content itself stays with the app that owns it
# (feed, generation, cameos, users) and is only ever changed through that app's services.


class ReportStatus(models.TextChoices):
    OPEN = "open", "Waiting for a decision"
    RESOLVED = "resolved", "Decided"


class Report(models.Model):
    """One person saying something is wrong with one object. Reports on the same object group
    into its open case; one open report per reporter and object (the database holds that)."""

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    target_type = models.CharField(max_length=16, choices=TARGET_CHOICES)
    target_id = models.BigIntegerField()
    reason = models.CharField(max_length=32, choices=REASON_CHOICES)
    text = models.CharField(max_length=1000, blank=True, default="")
    case = models.ForeignKey("Case", on_delete=models.PROTECT, related_name="reports")
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    # What the reporter is told: "removed", "action_taken", "age_restricted", "no_violation".
    outcome = models.CharField(max_length=20, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_type", "target_id"],
                condition=models.Q(status="open"),
                name="report_one_open_per_reporter_target",
            ),
            models.CheckConstraint(
                condition=models.Q(target_type__in=[t.value for t in TargetType]), name="report_target_type_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(reason=Reason.MACHINE_FLAG.value), name="report_reason_not_machine"
            ),
        ]
        indexes = [
            models.Index(fields=["reporter", "-created_at", "-id"], name="report_reporter_idx"),
            models.Index(fields=["target_type", "target_id"], name="report_target_idx"),
        ]

    def __str__(self) -> str:
        return f"report {self.pk}: {self.target_type} {self.target_id} ({self.reason})"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    DECIDED = "decided", "Decided"
    APPEALED = "appealed", "Appealed"
    CLOSED = "closed", "Closed"


class CaseSource(models.TextChoices):
    REPORTS = "reports", "User reports"
    MACHINE = "machine", "Policy check"
    BOTH = "both", "Policy check and reports"


class Case(models.Model):
    """Everything said about one object, for one decision. One open case per object.

    `priority` is the stored part of the queue order (moderation/priority.py); the queue adds
    the age bonus when it reads. `subject_user` is whoever a decision affects (the author,
    creator or owner; the account itself for a user report).
    """

    target_type = models.CharField(max_length=16, choices=TARGET_CHOICES)
    target_id = models.BigIntegerField()
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_cases"
    )
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    source = models.CharField(max_length=10, choices=CaseSource.choices, default=CaseSource.REPORTS)
    priority = models.IntegerField(default=0)
    top_reason = models.CharField(max_length=32, choices=REASON_CHOICES, blank=True, default="")
    reporter_count = models.PositiveIntegerField(default=0)  # distinct reporters
    # What the policy layers said when a generated video was flagged for review.
    flags = models.JSONField(default=dict, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A claim: the moderator working the case right now, until the claim runs out (renewed while
    # they have it open), so two moderators never work the same case (services.case_claim).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(default=now)
    last_reported_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["target_type", "target_id"],
                condition=models.Q(status="open"),
                name="case_one_open_per_target",
            ),
            models.CheckConstraint(
                condition=models.Q(target_type__in=[t.value for t in TargetType]), name="case_target_type_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open") | models.Q(decided_at__isnull=False), name="case_decided_has_time"
            ),
            models.CheckConstraint(
                condition=models.Q(claimed_by__isnull=True, claimed_until__isnull=True)
                | models.Q(claimed_by__isnull=False, claimed_until__isnull=False),
                name="case_claim_has_expiry",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-priority", "opened_at"], name="case_queue_idx"),
            models.Index(fields=["target_type", "target_id"], name="case_target_idx"),
            models.Index(fields=["subject_user", "-opened_at"], name="case_subject_idx"),
            models.Index(fields=["decided_at"], name="case_decided_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.target_type} {self.target_id} ({self.status})"

    @property
    def target_label(self) -> str:
        return f"{TARGET_LABELS.get(self.target_type, self.target_type)} {self.target_id}"


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk updates and deletes are refused too (the database refuses them as well)."""

    def update(self, **kwargs):
        raise AppendOnlyError("The moderation audit log is append-only.")

    def delete(self):
        raise AppendOnlyError("The moderation audit log is append-only.")


class AppendOnlyError(Exception):
    pass


class Action(models.Model):
    """One decision, in the append-only audit log: never updated, never deleted.

    A BEFORE UPDATE OR DELETE trigger (migration 0002) refuses any change in the database
    itself; save() and delete() refuse it in Python. Later facts (an appeal overturning this,
    a restore) are new rows that point back here, so the history reads forwards.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="actions")
    # Null: the system acted (strikes turning into a suspension).
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="moderation_actions"
    )
    kind = models.CharField(max_length=16, choices=ACTION_CHOICES)
    reason = models.CharField(max_length=1000)
    target_type = models.CharField(max_length=16, choices=TARGET_CHOICES)
    target_id = models.BigIntegerField()
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="moderation_actions_received",
    )
    # What the target looked like when the decision was taken (caption, body, author, video...).
    snapshot = models.JSONField(default=dict, blank=True)
    # What the action did (videos taken down, suspended until, ...), for restores and the console.
    details = models.JSONField(default=dict, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    appeal = models.ForeignKey("Appeal", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(reason__regex=r"\S"), name="action_reason_required"),
            models.CheckConstraint(
                condition=models.Q(kind__in=[k.value for k in ActionKind]), name="action_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["case", "created_at"], name="action_case_idx"),
            models.Index(fields=["subject_user", "kind", "-created_at"], name="action_subject_idx"),
            models.Index(fields=["moderator", "-created_at"], name="action_moderator_idx"),
            models.Index(fields=["created_at"], name="action_created_idx"),
        ]

    def __str__(self) -> str:
        return f"action {self.pk}: {self.kind} {self.target_type} {self.target_id}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The moderation audit log is append-only: an action is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The moderation audit log is append-only: an action is never deleted.")


class AppealStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a moderator"
    UPHELD = "upheld", "Decision upheld"
    OVERTURNED = "overturned", "Decision overturned"


class Appeal(models.Model):
    """The affected person asks for a second look, once per action. A different moderator
    decides it: `acted_by` is copied from the action by a trigger (migration 0002) and a check
    constraint keeps `decided_by` different from it."""

    action = models.OneToOneField(Action, on_delete=models.PROTECT, related_name="appeal_made")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appeals")
    text = models.CharField(max_length=2000)
    status = models.CharField(max_length=12, choices=AppealStatus.choices, default=AppealStatus.PENDING)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="appeals_decided"
    )
    decision_reason = models.CharField(max_length=1000, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True)
                | models.Q(acted_by__isnull=True)
                | ~models.Q(decided_by=models.F("acted_by")),
                name="appeal_decided_by_another_moderator",
            ),
            models.CheckConstraint(
                condition=(models.Q(status="pending") & models.Q(decided_at__isnull=True))
                | (
                    ~models.Q(status="pending")
                    & models.Q(decided_at__isnull=False)
                    & models.Q(decision_reason__regex=r"\S")
                ),
                name="appeal_decided_has_time_and_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="appeal_queue_idx")]

    def __str__(self) -> str:
        return f"appeal {self.pk} of action {self.action_id} ({self.status})"
