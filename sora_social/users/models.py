"""Users, the social graph (follows, blocks) and bearer tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now

from sora_social.users.dates import age_on, is_minor_born

HANDLE_PATTERN = r"^[A-Za-z0-9_](?:[A-Za-z0-9_.]{1,28}[A-Za-z0-9_])$"
handle_validator = RegexValidator(
    HANDLE_PATTERN,
    message="A handle is 3 to 30 letters, digits, underscores or dots, not starting or ending with a dot.",
    code="invalid_handle",
)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, handle: str) -> User:
        return self.get(handle__iexact=handle)

    def create_user(self, handle: str, password: str | None = None, **extra) -> User:
        user = self.model(handle=handle, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, handle: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(handle, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    handle = models.CharField(max_length=30, unique=True, validators=[handle_validator])
    email = models.EmailField(blank=True, default="")
    display_name = models.CharField(max_length=60, blank=True, default="")
    bio = models.CharField(max_length=300, blank=True, default="")
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True, default="")
    date_of_birth = models.DateField(null=True, blank=True)
    # IANA zone name; the daily free-credit allowance resets at the user's local midnight.
    timezone = models.CharField(max_length=64, default="UTC")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    suspended_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)
    # Set when the person deleted their account: the row stays as an anonymous tombstone
    # (ledgers and the moderation audit trail point at it), emptied of everything personal.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "handle"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("handle"), name="user_handle_ci_unique"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle}"

    @property
    def age(self) -> int | None:
        return None if self.date_of_birth is None else age_on(self.date_of_birth)

    @property
    def is_minor(self) -> bool:
        return is_minor_born(self.date_of_birth)  # an unknown age counts as a minor

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > now()


class Follow(models.Model):
    follower = models.ForeignKey(User, on_delete=models.CASCADE, related_name="following_edges")
    followee = models.ForeignKey(User, on_delete=models.CASCADE, related_name="follower_edges")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follow_unique_pair"),
            models.CheckConstraint(condition=~models.Q(follower=models.F("followee")), name="follow_not_self"),
        ]
        indexes = [models.Index(fields=["followee", "follower"], name="follow_followee_idx")]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"


class Block(models.Model):
    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocking_edges")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocked_by_edges")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique_pair"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_blocked_idx")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class AuthToken(models.Model):
    """A bearer token for a mobile client. Only a SHA-256 digest of the secret is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)  # shown in token lists so users can tell them apart
    name = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="token_user_idx")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > now()


class AccountExportStatus(models.TextChoices):
    PENDING = "pending", "Being built"
    READY = "ready", "Ready to download"
    FAILED = "failed", "Failed"


class AccountExport(models.Model):
    """An archive of everything a user has here (JSON plus their media), built by a task.

    The ZIP lives in private storage (`private/exports/<user id>/`), downloadable by its owner
    until `expires_at`; a periodic task erases expired archives.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_exports")
    status = models.CharField(max_length=10, choices=AccountExportStatus.choices, default=AccountExportStatus.PENDING)
    path = models.CharField(max_length=300, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    file_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One archive in the making at a time: a second request returns the first.
            models.UniqueConstraint(fields=["user"], condition=models.Q(status="pending"), name="export_one_pending"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "ready", "failed"]), name="export_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="export_user_idx")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id} ({self.status})"
