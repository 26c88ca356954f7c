"""Cameos: consented likenesses (a person, a pet, an object, a rights holder's character).

Who may use a cameo is decided in one place, `cameos.selectors.can_use_cameo`; these models
hold the data it reads and the invariants the database can keep (one live person cameo per
user, one list entry per person, one charge per job and cameo, ...).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone


class CameoKind(models.TextChoices):
    PERSON = "person", "Person"
    PET = "pet", "Pet"
    OBJECT = "object", "Object"
    CHARACTER = "character", "Character"


class CameoStatus(models.TextChoices):
    PENDING = "pending", "Verifying"  # clip accepted, verification task queued or running
    ACTIVE = "active", "Active"
    REJECTED = "rejected", "Rejected"  # verification refused it; rejection_code says why
    REVOKED = "revoked", "Revoked"  # the owner withdrew consent for good
    DISABLED = "disabled", "Disabled by moderation"  # nobody may use it until moderation restores it


# Statuses of a cameo that still counts: a rejected or revoked one frees its name and slot.
LIVE_STATUSES = (CameoStatus.PENDING, CameoStatus.ACTIVE)


class CameoAudience(models.TextChoices):
    ONLY_ME = "only_me", "Only me"
    APPROVED = "approved", "People I approve"
    MUTUALS = "mutuals", "Mutuals"
    EVERYONE = "everyone", "Everyone"


class CameoChallenge(models.Model):
    """A one-time code the user shows in the verification clip; expires within minutes."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_challenges")
    kind = models.CharField(max_length=16, choices=CameoKind.choices)
    name = models.CharField(max_length=40)
    display_name = models.CharField(max_length=60, blank=True, default="")
    code = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="cameo_challenge_owner_idx")]

    def __str__(self) -> str:
        return f"challenge {self.pk} for {self.owner_id} ({self.kind})"


class Cameo(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos")
    kind = models.CharField(max_length=16, choices=CameoKind.choices)
    # `name` is how prompts refer to it (letters, digits, _ . -); display_name is what people read.
    name = models.CharField(max_length=40)
    display_name = models.CharField(max_length=60)
    description = models.CharField(max_length=300, blank=True, default="")
    # Other names the likeness goes by, so moderation can match a prompt that names it differently.
    aliases = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=CameoStatus.choices, default=CameoStatus.PENDING)
    rejection_code = models.CharField(max_length=40, blank=True, default="")
    rejection_reason = models.CharField(max_length=300, blank=True, default="")

    audience = models.CharField(max_length=16, choices=CameoAudience.choices, default=CameoAudience.ONLY_ME)
    # Free text the generator must follow ("always wearing a hat").
    instructions = models.CharField(max_length=500, blank=True, default="")
    # Structured restriction codes moderation enforces (see cameos.constants.RESTRICTION_CODES).
    restrictions = models.JSONField(default=list, blank=True)

    challenge = models.OneToOneField(
        CameoChallenge, null=True, blank=True, on_delete=models.SET_NULL, related_name="cameo"
    )
    # Private storage path of the verification clip; never under MEDIA_URL, only the owner reads it.
    clip_path = models.CharField(max_length=300, blank=True, default="")
    clip_duration_s = models.FloatField(null=True, blank=True)
    clip_width = models.PositiveIntegerField(null=True, blank=True)
    clip_height = models.PositiveIntegerField(null=True, blank=True)
    # Appearance embedding for the generator (see docs/cameos.md for what the numbers are).
    embedding = models.JSONField(null=True, blank=True)
    embedding_version = models.CharField(max_length=40, blank=True, default="")
    # What verification measured (frames decoded, face frames, challenge found at ...).
    verification = models.JSONField(default=dict, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(kind=CameoKind.PERSON, status__in=LIVE_STATUSES),
                name="cameo_one_live_person_per_owner",
            ),
            models.UniqueConstraint(
                "owner",
                Lower("name"),
                condition=Q(status__in=LIVE_STATUSES),
                name="cameo_live_name_unique_per_owner",
            ),
            models.CheckConstraint(condition=Q(kind__in=CameoKind.values), name="cameo_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=CameoStatus.values), name="cameo_status_valid"),
            models.CheckConstraint(condition=Q(audience__in=CameoAudience.values), name="cameo_audience_valid"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="cameo_owner_idx"),
            models.Index(fields=["status", "audience"], name="cameo_status_audience_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.kind}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == CameoStatus.ACTIVE


class CameoReference(models.Model):
    """A reference image extracted by verification (a face crop or a frame), stored privately."""

    class Role(models.TextChoices):
        FACE = "face", "Face crop"
        FRAME = "frame", "Frame"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="references")
    role = models.CharField(max_length=10, choices=Role.choices)
    index = models.PositiveSmallIntegerField()
    path = models.CharField(max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    # The one reference image the embedded video model conditions on.
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cameo", "index"], name="cameo_reference_unique_index"),
            models.UniqueConstraint(fields=["cameo"], condition=Q(is_primary=True), name="cameo_reference_one_primary"),
        ]

    def __str__(self) -> str:
        return f"{self.role} #{self.index} of cameo {self.cameo_id}"


class CameoAccessEntry(models.Model):
    """A per-person allow or deny entry on a cameo. Deny always wins (see can_use_cameo)."""

    class Effect(models.TextChoices):
        ALLOW = "allow", "Allow"
        DENY = "deny", "Deny"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="access_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_access_entries")
    effect = models.CharField(max_length=8, choices=Effect.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cameo", "user"], name="cameo_access_one_entry_per_user"),
            models.CheckConstraint(condition=Q(effect__in=["allow", "deny"]), name="cameo_access_effect_valid"),
        ]
        indexes = [models.Index(fields=["user", "cameo"], name="cameo_access_user_idx")]

    def __str__(self) -> str:
        return f"{self.effect} {self.user_id} on cameo {self.cameo_id}"


class CameoRequest(models.Model):
    """Someone asks to use a cameo; the owner approves (an allow entry) or denies."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        WITHDRAWN = "withdrawn", "Withdrawn"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_requests")
    message = models.CharField(max_length=300, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cameo", "requester"], condition=Q(status="pending"), name="cameo_request_one_pending"
            ),
        ]
        indexes = [models.Index(fields=["cameo", "status", "-created_at"], name="cameo_request_cameo_idx")]

    def __str__(self) -> str:
        return f"request {self.pk} by {self.requester_id} for cameo {self.cameo_id} ({self.status})"


class RightsHolder(models.Model):
    """Marks an account as a rights holder that may own character cameos (granted by staff)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rights_holder")
    organisation = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    granted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.organisation} ({self.user_id})"


class CharacterLicence(models.Model):
    """The terms under which a character cameo may be used."""

    cameo = models.OneToOneField(Cameo, on_delete=models.CASCADE, related_name="licence")
    allowed_themes = models.JSONField(default=list, blank=True)
    forbidden_themes = models.JSONField(default=list, blank=True)
    fee_credits = models.PositiveIntegerField(default=0)  # per generation; 0 = free
    # The rights holder's share of the fee in basis points; the platform keeps the rest.
    rights_holder_share_bps = models.PositiveIntegerField(default=7000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rights_holder_share_bps__lte=10000), name="licence_share_at_most_100_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"licence of cameo {self.cameo_id}: {self.fee_credits} credits"


class CameoAppearance(models.Model):
    """A video a cameo is in. The video lives in `generation` (above this app): a plain id here."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REMOVED = "removed", "Removed by the cameo's owner"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="appearances")
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    video_id = models.BigIntegerField()
    job_id = models.BigIntegerField(null=True, blank=True)
    # The video this one was made from and inherited the cameo from (a remix, edit, extension,
    # matched upload or reference), or None for a direct use. Removing the source's appearance
    # removes its derivatives' too.
    via_video_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    removed_reason = models.CharField(max_length=300, blank=True, default="")
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cameo", "video_id"], name="cameo_appearance_unique_video"),
        ]
        indexes = [
            models.Index(fields=["cameo", "-created_at", "-id"], name="cameo_appearance_list_idx"),
            models.Index(fields=["video_id"], name="cameo_appearance_video_idx"),
            models.Index(fields=["creator", "cameo"], name="cameo_appearance_creator_idx"),
            models.Index(
                fields=["cameo", "via_video_id"],
                name="cameo_appearance_via_idx",
                condition=Q(via_video_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"cameo {self.cameo_id} in video {self.video_id} ({self.status})"


class RoyaltyParty(models.TextChoices):
    CREATOR = "creator", "Creator"
    RIGHTS_HOLDER = "rights_holder", "Rights holder"
    PLATFORM = "platform", "Platform"


class RoyaltyEntry(models.Model):
    """One append-only line of the royalty ledger. A charge is three lines that sum to zero."""

    class EntryType(models.TextChoices):
        CHARGE = "charge", "Charge"
        REVERSAL = "reversal", "Reversal"  # a refunded generation writes the mirror lines

    party = models.CharField(max_length=16, choices=RoyaltyParty.choices)
    # The account the line belongs to; null for the platform.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="royalty_entries"
    )
    cameo = models.ForeignKey(Cameo, on_delete=models.PROTECT, related_name="royalty_entries")
    entry_type = models.CharField(max_length=10, choices=EntryType.choices, default=EntryType.CHARGE)
    amount = models.BigIntegerField()  # credits, signed: negative = paid, positive = earned
    job_id = models.BigIntegerField()
    video_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job_id", "cameo", "party", "entry_type"], name="royalty_one_line_per_job_cameo_party"
            ),
            models.CheckConstraint(
                condition=Q(party="platform", account__isnull=True) | (~Q(party="platform") & Q(account__isnull=False)),
                name="royalty_account_matches_party",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "party", "-created_at"], name="royalty_account_idx"),
            models.Index(fields=["cameo", "-created_at"], name="royalty_cameo_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_type} {self.party} {self.amount:+d} (job {self.job_id}, cameo {self.cameo_id})"
