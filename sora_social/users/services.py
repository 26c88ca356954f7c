"""Write use-cases for users, the social graph and tokens. One transaction each."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from sora_social.common.errors import ApplicationError, Forbidden, NotFound
from sora_social.users.models import AuthToken, Block, Follow, User, handle_validator
from sora_social.users.tokens import new_token_secret, token_digest

RESERVED_HANDLES = frozenset(
    {"admin", "administrator", "api", "console", "help", "me", "moderator", "root", "sora", "support", "system"}
)
MIN_SIGNUP_AGE = 13


def _validate_handle(handle: str, *, exclude_user: User | None = None) -> str:
    handle = handle.strip().lstrip("@")
    try:
        handle_validator(handle)
    except ValidationError as exc:
        raise ApplicationError("invalid_handle", exc.messages[0], fields={"handle": exc.messages}) from exc
    if handle.lower() in RESERVED_HANDLES:
        raise ApplicationError("handle_reserved", f"@{handle} is reserved.", fields={"handle": ["Reserved."]})
    taken = User.objects.filter(handle__iexact=handle)
    if exclude_user is not None:
        taken = taken.exclude(pk=exclude_user.pk)
    if taken.exists():
        raise ApplicationError("handle_taken", f"@{handle} is taken.", fields={"handle": ["Already taken."]})
    return handle


def _validate_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ApplicationError(
            "invalid_timezone", f"{name!r} is not an IANA time zone.", fields={"timezone": ["Unknown zone."]}
        ) from exc
    return name


@transaction.atomic
def user_create(
    *,
    handle: str,
    password: str,
    date_of_birth: date,
    display_name: str = "",
    email: str = "",
    timezone_name: str = "UTC",
) -> User:
    handle = _validate_handle(handle)
    today = date.today()
    age = today.year - date_of_birth.year - ((today.month, today.day) < (date_of_birth.month, date_of_birth.day))
    if date_of_birth > today or age > 120:
        raise ApplicationError("invalid_date_of_birth", "That date of birth is not possible.")
    if age < MIN_SIGNUP_AGE:
        raise ApplicationError("too_young", f"You must be at least {MIN_SIGNUP_AGE} to sign up.")
    user = User(
        handle=handle,
        display_name=display_name or handle,
        email=email,
        date_of_birth=date_of_birth,
        timezone=_validate_timezone(timezone_name),
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError("weak_password", exc.messages[0], fields={"password": exc.messages}) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up took the handle between check and insert
        raise ApplicationError("handle_taken", f"@{handle} is taken.", fields={"handle": ["Already taken."]}) from exc
    return user


@transaction.atomic
def user_update_profile(
    *,
    user: User,
    handle: str | None = None,
    display_name: str | None = None,
    bio: str | None = None,
    avatar: UploadedFile | None = None,
    timezone_name: str | None = None,
) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if handle is not None and handle != user.handle:
        user.handle = _validate_handle(handle, exclude_user=user)
    if display_name is not None:
        user.display_name = display_name.strip()[:60]
    if bio is not None:
        user.bio = bio.strip()[:300]
    if timezone_name is not None:
        user.timezone = _validate_timezone(timezone_name)
    if avatar is not None:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(avatar) as image:
                image.verify()
        except (UnidentifiedImageError, OSError) as exc:
            raise ApplicationError("invalid_avatar", "The avatar must be a PNG, JPEG or WebP image.") from exc
        avatar.seek(0)
        user.avatar.save(avatar.name, avatar, save=False)
    user.save()
    return user


@transaction.atomic
def token_create(*, handle: str, password: str, name: str = "") -> tuple[AuthToken, str]:
    """Log in: check the password and issue a new bearer token. Returns (token, secret)."""
    user = authenticate(handle=handle.lstrip("@"), password=password)
    if user is None:
        raise ApplicationError("invalid_credentials", "Wrong handle or password.", status_code=401)
    return token_issue(user=user, name=name)


@transaction.atomic
def token_issue(*, user: User, name: str = "") -> tuple[AuthToken, str]:
    secret = new_token_secret()
    token = AuthToken.objects.create(
        user=user,
        digest=token_digest(secret),
        prefix=secret[:10],
        name=name[:100],
        expires_at=timezone.now() + settings.AUTH_TOKEN_TTL,
    )
    return token, secret


@transaction.atomic
def token_touch(*, token_id: int, now: datetime) -> None:
    """Record that a token was used (authentication calls this at most every few minutes).

    The commit does not wait for the WAL flush (``synchronous_commit = off`` for this one
    transaction): a crash could lose the last few seconds of "last used" times, which is
    harmless, and the request that triggered it does not wait on the disk."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit TO OFF")
    AuthToken.objects.filter(pk=token_id).update(last_used_at=now)


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> None:
    updated = AuthToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise NotFound("No such token.", code="token_not_found")


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise ApplicationError("cannot_follow_self", "You cannot follow yourself.")
    if Block.objects.filter(Q(blocker=follower, blocked=followee) | Q(blocker=followee, blocked=follower)).exists():
        raise Forbidden("blocked", "You cannot follow this account.")
    follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
    if created:
        _notify_new_follower(follow)
    return follow


def _notify_new_follower(follow: Follow) -> None:
    from sora_social.notifications.services import notify

    notify(
        recipient=follow.followee,
        kind="new_follower",
        actor=follow.follower,
        data={"follower_handle": follow.follower.handle},
    )


@transaction.atomic
def follow_delete(*, follower: User, followee: User) -> None:
    Follow.objects.filter(follower=follower, followee=followee).delete()


@transaction.atomic
def block_create(*, blocker: User, blocked: User) -> Block:
    """Block someone: both disappear for each other, and follows between them go."""
    if blocker.pk == blocked.pk:
        raise ApplicationError("cannot_block_self", "You cannot block yourself.")
    block, _ = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    Follow.objects.filter(Q(follower=blocker, followee=blocked) | Q(follower=blocked, followee=blocker)).delete()
    return block


@transaction.atomic
def block_delete(*, blocker: User, blocked: User) -> None:
    Block.objects.filter(blocker=blocker, blocked=blocked).delete()


@transaction.atomic
def user_suspend(*, user: User, until) -> User:
    """Suspend an account until a time (moderation calls this); live tokens stop working."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.suspended_until = until
    user.save(update_fields=["suspended_until"])
    return user


@transaction.atomic
def user_ban(*, user: User) -> User:
    """Deactivate an account for good and revoke its tokens."""
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return user


@transaction.atomic
def user_reinstate(*, user: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    user.is_active = True
    user.suspended_until = None
    user.save(update_fields=["is_active", "suspended_until"])
    return user


@transaction.atomic
def tokens_purge_expired(*, older_than_days: int = 30) -> int:
    """Delete tokens that expired or were revoked more than `older_than_days` ago."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = AuthToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)).delete()
    return deleted
