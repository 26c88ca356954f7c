"""Write use-cases for users, the social graph and tokens. One transaction each."""

from __future__ import annotations

import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from sora_social.common.errors import ApplicationError, Forbidden, NotFound
from sora_social.common.storage import delete_files_on_commit
from sora_social.users import archive, ports
from sora_social.users.dates import age_on
from sora_social.users.fields import TIMEZONES
from sora_social.users.models import (
    AccountExport,
    AccountExportStatus,
    AuthToken,
    Block,
    Follow,
    User,
    handle_validator,
)
from sora_social.users.tokens import new_token_secret, token_digest

logger = logging.getLogger(__name__)

RESERVED_HANDLES = frozenset(
    {"admin", "administrator", "api", "console", "help", "me", "moderator", "root", "sora", "support", "system"}
)
MIN_SIGNUP_AGE = 13
# A deleted account's tombstone is renamed to this prefix plus random hex; nobody may sign up
# with such a handle, so a tombstone is never mistaken for a person.
DELETED_HANDLE_PREFIX = "deleted_"
# How long a finished data export can be downloaded before the purge erases it.
ACCOUNT_EXPORT_TTL = timedelta(days=7)
# A pending export older than this was lost on its way to a worker; asking again starts anew.
ACCOUNT_EXPORT_STALE_AFTER = timedelta(hours=1)
ACCOUNT_EXPORTS_PER_DAY = 3


def _validate_handle(handle: str, *, exclude_user: User | None = None) -> str:
    handle = handle.strip().lstrip("@")
    try:
        handle_validator(handle)
    except ValidationError as exc:
        raise ApplicationError("invalid_handle", exc.messages[0], fields={"handle": exc.messages}) from exc
    if handle.lower() in RESERVED_HANDLES or handle.lower().startswith(DELETED_HANDLE_PREFIX):
        raise ApplicationError(
            "handle_reserved", f"@{handle} is reserved.", fields={"handle": ["Reserved."]}, status_code=409
        )
    taken = User.objects.filter(handle__iexact=handle)
    if exclude_user is not None:
        taken = taken.exclude(pk=exclude_user.pk)
    if taken.exists():
        raise ApplicationError(
            "handle_taken", f"@{handle} is taken.", fields={"handle": ["Already taken."]}, status_code=409
        )
    return handle


def _weak_password(field: str, exc: ValidationError) -> ApplicationError:
    # 422: the schema states the length; a common, numeric or handle-like password is refused by
    # a rule no schema can state.
    return ApplicationError("weak_password", exc.messages[0], fields={field: exc.messages}, status_code=422)


def _validate_timezone(name: str) -> str:
    # The zone names zoneinfo lists, no more: it would also open files such as "posixrules".
    # 422: any text is a schema-valid zone (the list is not in the schema, users/fields.py).
    if name not in TIMEZONES:
        raise ApplicationError(
            "invalid_timezone",
            f"{name!r} is not an IANA time zone.",
            fields={"timezone": ["Unknown zone."]},
            status_code=422,
        )
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
    age = age_on(date_of_birth, today)
    # 422: any date is a schema-valid date of birth; these are refused for what it says.
    if date_of_birth > today or age > 120:
        raise ApplicationError("invalid_date_of_birth", "That date of birth is not possible.", status_code=422)
    if age < MIN_SIGNUP_AGE:
        raise ApplicationError("too_young", f"You must be at least {MIN_SIGNUP_AGE} to sign up.", status_code=422)
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
        raise _weak_password("password", exc) from exc
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent sign-up took the handle between check and insert
        raise ApplicationError(
            "handle_taken", f"@{handle} is taken.", fields={"handle": ["Already taken."]}, status_code=409
        ) from exc
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
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if handle is not None and handle != user.handle:
        user.handle = _validate_handle(handle, exclude_user=user)
    if display_name is not None:
        user.display_name = display_name.strip()[:60]
    if bio is not None:
        user.bio = bio.strip()[:300]
    if timezone_name is not None:
        user.timezone = _validate_timezone(timezone_name)
    if avatar is not None:
        from sora_social.common.images import image_decode

        # Decoded to check it, with the pixel cap that refuses a decompression bomb.
        image_decode(
            avatar,
            field="avatar",
            invalid_code="invalid_avatar",
            invalid_message="The avatar must be a PNG, JPEG or WebP image.",
        ).close()
        avatar.seek(0)
        user.avatar.save(avatar.name, avatar, save=False)
    user.save()
    return user


@transaction.atomic
def token_create(*, handle: str, password: str, name: str = "") -> tuple[AuthToken, str]:
    """Log in: check the password and issue a new bearer token. Returns (token, secret).

    An account with too many recent failures is refused (429) before the password is looked
    at, right or wrong (users/login_backoff.py)."""
    from sora_social.users.login_backoff import login_backoff_wait

    wait_s = login_backoff_wait(handle=handle)
    if wait_s:
        raise ApplicationError(
            "login_backoff",
            f"Too many failed log-ins to this account; try again in {wait_s} s.",
            status_code=429,
            extra={"retry_after_s": wait_s},
        )
    # The backend (users/backends.py) counts a failure and clears the count on success.
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


def _tokens_revoke(tokens, *, now: datetime) -> int:
    """Revoke the live ones among `tokens`; every websocket opened with them closes (4401) when
    the caller's transaction commits (the listeners registered on users.ports do that)."""
    token_ids = list(tokens.filter(revoked_at__isnull=True).values_list("pk", flat=True))
    revoked = AuthToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(revoked_at=now)
    ports.announce_tokens_revoked(token_ids=token_ids)
    return revoked


@transaction.atomic
def token_revoke(*, user: User, token_id: int) -> None:
    if not _tokens_revoke(AuthToken.objects.filter(pk=token_id, user=user), now=timezone.now()):
        raise NotFound("token_not_found", "No such token.")


# --- passwords: change and reset by e-mail ---------------------------------------------------


def _password_validated(*, user: User, password: str) -> str:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise _weak_password("new_password", exc) from exc
    return password


@transaction.atomic
def user_password_change(*, user: User, current_password: str, new_password: str, keep_token_id: int | None) -> int:
    """Change one's password (knowing the current one). Every other token of the user is
    revoked (their websockets close); `keep_token_id`, the token making the request, stays.
    Returns how many tokens were revoked."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if not current_password or not user.check_password(current_password):
        raise ApplicationError(
            "wrong_password", "That is not this account's password; nothing was changed.", status_code=403
        )
    _password_validated(user=user, password=new_password)
    if user.check_password(new_password):
        raise ApplicationError(
            "password_unchanged",
            "The new password is the current one.",
            fields={"new_password": ["Choose a password different from the current one."]},
            status_code=422,
        )
    user.set_password(new_password)
    user.save(update_fields=["password"])
    others = AuthToken.objects.filter(user=user).exclude(pk=keep_token_id)
    return _tokens_revoke(others, now=timezone.now())


def _password_reset_candidates(email: str):
    """Accounts that may reset by this address: active, not deleted, with a usable password."""
    email = email.strip()
    if not email:
        return User.objects.none()
    users = User.objects.filter(email__iexact=email, is_active=True, deleted_at__isnull=True)
    return [u for u in users if u.has_usable_password()]


@transaction.atomic
def user_password_reset_request(*, email: str) -> None:
    """Mail a reset link to the account(s) with this address, if any. Answers the same either
    way (no account enumeration); the mail goes out from a task on the default queue (through
    the outbox), so the request takes the same time whether an account exists or not."""
    from sora_social.outbox.services import outbox_send_on_commit

    for user in _password_reset_candidates(email):
        outbox_send_on_commit(task="users.password_reset_mail_send", args=[user.pk])


def password_reset_mail_send(*, user_id: int) -> bool:
    """Send the reset mail (the task calls this). The token is made here, at sending time, so
    no secret waits in the outbox; Django's default_token_generator binds it to the password
    hash and last log-in, so it stops working once used (or once the password changes) and
    after PASSWORD_RESET_TIMEOUT. Returns whether a mail was sent."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core.mail import send_mail
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = User.objects.filter(pk=user_id, is_active=True, deleted_at__isnull=True).first()
    if user is None or not user.email or not user.has_usable_password():
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.PASSWORD_RESET_LINK.format(uid=uid, token=token)
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    send_mail(
        subject="Reset your sora_social password",
        message=(
            f"Someone asked to reset the password of @{user.handle}.\n\n"
            f"To choose a new one, open:\n{link}\n\n"
            f"or enter these in the app:\nuid: {uid}\ntoken: {token}\n\n"
            f"The link works once, for {hours} hours. If you did not ask, ignore this mail: "
            "your password stays as it is."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )
    return True


@transaction.atomic
def user_password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password with the uid and token from the reset mail. Every token of the user
    is revoked (their websockets close); the log-in backoff is cleared."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_str
    from django.utils.http import urlsafe_base64_decode

    from sora_social.users.login_backoff import login_backoff_clear

    # 422: a uid and token of the right form that no mail of ours holds (the schema cannot say which).
    invalid = ApplicationError(
        "invalid_reset_token", "This reset link is invalid or has expired; ask for a new one.", status_code=422
    )
    try:
        user_pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise invalid from None
    user = (
        User.objects.select_for_update(no_key=True).filter(pk=user_pk, is_active=True, deleted_at__isnull=True).first()
    )
    if user is None or not default_token_generator.check_token(user, token):
        raise invalid
    _password_validated(user=user, password=new_password)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    _tokens_revoke(AuthToken.objects.filter(user=user), now=timezone.now())
    transaction.on_commit(lambda: login_backoff_clear(handle=user.handle))
    return user


@transaction.atomic
def follow_create(*, follower: User, followee: User) -> Follow:
    if follower.pk == followee.pk:
        raise ApplicationError("cannot_follow_self", "You cannot follow yourself.")
    if Block.objects.filter(Q(blocker=follower, blocked=followee) | Q(blocker=followee, blocked=follower)).exists():
        raise Forbidden("blocked", "You cannot follow this account.")
    follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
    if created:
        ports.announce_follow_created(follow=follow)
    return follow


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
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    user.suspended_until = until
    user.save(update_fields=["suspended_until"])
    return user


@transaction.atomic
def user_ban(*, user: User) -> User:
    """Deactivate an account for good and revoke its tokens."""
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _tokens_revoke(AuthToken.objects.filter(user=user), now=timezone.now())
    return user


@transaction.atomic
def user_reinstate(*, user: User) -> User:
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
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


# --- leaving: deletion and export ----------------------------------------------------------


@dataclass(frozen=True)
class AccountDeletion:
    """What a deletion did: how many rows each app erased, anonymised or took down."""

    user_id: int
    deleted_at: datetime
    counts: dict[str, int]


@transaction.atomic
def user_delete(*, user: User, password: str) -> AccountDeletion:
    """Delete an account for good, after the person re-enters their password.

    Every app above users erases its part through the account-eraser port (see users.ports):
    their cameos' clips, references and embeddings; every video that shows their likeness,
    theirs and other people's, drafts and derivatives too, through the cameo take-down
    machinery; their own videos, posts, comments and likes; in-flight jobs cancelled and
    refunded; notifications. Then users erases its own: tokens revoked, follows and blocks
    deleted, archives and avatar erased. The row itself stays as an anonymous tombstone
    (handle `deleted_<random>`, nothing personal, no usable password, inactive), because the
    append-only ledgers (credits, royalties) and the moderation audit trail keep their rows and
    point at it: the rows stay, the identity goes.
    """
    user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
    if user.deleted_at is not None:
        raise NotFound("account_deleted", "This account was deleted.")
    if not password or not user.check_password(password):
        raise ApplicationError(
            "wrong_password", "That is not this account's password; nothing was deleted.", status_code=403
        )
    counts = ports.erase_account(user=user)

    now = timezone.now()
    # Revoked, not deleted: a revoked token is refused (and its websockets closed) at once.
    counts["users.tokens_revoked"] = _tokens_revoke(AuthToken.objects.filter(user=user), now=now)
    counts["users.follows_deleted"] = Follow.objects.filter(Q(follower=user) | Q(followee=user)).delete()[0]
    counts["users.blocks_deleted"] = Block.objects.filter(Q(blocker=user) | Q(blocked=user)).delete()[0]
    exports = list(AccountExport.objects.filter(user=user))
    counts["users.exports_erased"] = len(exports)
    files = [export.path for export in exports]
    AccountExport.objects.filter(user=user).delete()
    if user.avatar:
        files.append(user.avatar.name)

    user.handle = f"{DELETED_HANDLE_PREFIX}{secrets.token_hex(8)}"
    user.email = ""
    user.display_name = ""
    user.bio = ""
    user.avatar = ""
    user.date_of_birth = None
    user.timezone = "UTC"
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.suspended_until = None
    user.deleted_at = now
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    delete_files_on_commit(files)
    return AccountDeletion(user_id=user.pk, deleted_at=now, counts=counts)


@transaction.atomic
def account_export_request(*, user: User) -> AccountExport:
    """Ask for an archive of one's data; built by a task on the default queue. While one is
    being built, asking again returns that one; at most ACCOUNT_EXPORTS_PER_DAY are started a
    day (each reads every row and file the person has), then 429 `export_limit`."""
    from sora_social.outbox.services import outbox_send_on_commit

    # One request at a time.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True).get()
    pending = AccountExport.objects.select_for_update().filter(user=user, status=AccountExportStatus.PENDING).first()
    if pending is not None and pending.created_at > timezone.now() - ACCOUNT_EXPORT_STALE_AFTER:
        return pending
    if pending is not None:
        # Its task never ran (the broker lost it, say): give up on it and start again.
        pending.status = AccountExportStatus.FAILED
        pending.error = "The export was not built in time; a new one was started."
        pending.finished_at = timezone.now()
        pending.save(update_fields=["status", "error", "finished_at"])
    now = timezone.now()
    recent = AccountExport.objects.filter(user=user, created_at__gt=now - timedelta(days=1))
    if recent.count() >= ACCOUNT_EXPORTS_PER_DAY:
        # Free again when the export that fills the day's window leaves it.
        freeing = recent.order_by("-created_at").values_list("created_at", flat=True)[ACCOUNT_EXPORTS_PER_DAY - 1]
        raise ApplicationError(
            "export_limit",
            f"You can start {ACCOUNT_EXPORTS_PER_DAY} exports a day; download one you have, or try tomorrow.",
            status_code=429,
            extra={"retry_after_s": max(1, math.ceil((freeing + timedelta(days=1) - now).total_seconds()))},
        )
    try:
        with transaction.atomic():
            export = AccountExport.objects.create(user=user)
    except IntegrityError:  # a concurrent request created it first
        return AccountExport.objects.get(user=user, status=AccountExportStatus.PENDING)
    # Through the outbox: a broker outage delays the archive instead of losing it.
    outbox_send_on_commit(task="users.account_export_build", args=[export.pk])
    return export


def _account_section(user: User) -> ports.ExportSection:
    """users' own part of the archive: the profile, the graph, blocks, tokens (never secrets)."""
    files = []
    avatar = None
    if user.avatar:
        extension = user.avatar.name.rsplit(".", 1)[-1].lower() if "." in user.avatar.name else "img"
        avatar = f"media/avatar.{extension}"
        files.append(ports.ExportFile(archive_path=avatar, storage_path=user.avatar.name))
    profile = {
        "id": user.pk,
        "handle": user.handle,
        "display_name": user.display_name,
        "email": user.email,
        "bio": user.bio,
        "date_of_birth": user.date_of_birth,
        "timezone": user.timezone,
        "created_at": user.created_at,
        "suspended_until": user.suspended_until,
        "avatar": avatar,
    }

    def edges(rows, attr: str) -> list[dict]:
        return [{"handle": getattr(row, attr).handle, "since": row.created_at} for row in rows]

    data = {
        "profile": profile,
        "following": edges(Follow.objects.filter(follower=user).select_related("followee").order_by("id"), "followee"),
        "followers": edges(Follow.objects.filter(followee=user).select_related("follower").order_by("id"), "follower"),
        "blocks": edges(Block.objects.filter(blocker=user).select_related("blocked").order_by("id"), "blocked"),
        "tokens": [
            {
                "id": t.pk,
                "prefix": t.prefix,
                "name": t.name,
                "created_at": t.created_at,
                "last_used_at": t.last_used_at,
                "expires_at": t.expires_at,
                "revoked_at": t.revoked_at,
            }
            for t in AuthToken.objects.filter(user=user).order_by("id")
        ],
    }
    return ports.ExportSection(name="account", data=data, files=files)


def account_export_build(*, export_id: int) -> AccountExport | None:
    """Build a pending export's ZIP (the task calls this). Idempotent: an export that is no
    longer pending is left alone. A failure marks it failed with the reason; the archive is
    written to local temporary space first and stored only when complete."""
    export = AccountExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None or export.status != AccountExportStatus.PENDING:
        return export
    user = export.user
    storage_path = f"private/exports/{user.pk}/{uuid.uuid4().hex}.zip"
    try:
        sections = [_account_section(user), *ports.export_sections(user=user)]
        written = archive.write_archive(
            sections=sections,
            storage_path=storage_path,
            meta={"user_id": user.pk, "handle": user.handle, "export_id": export.pk},
        )
    except Exception as exc:  # any failure is reported on the export; the task does not retry
        logger.exception("account export %s failed", export_id)
        AccountExport.objects.filter(pk=export_id, status=AccountExportStatus.PENDING).update(
            status=AccountExportStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:300], finished_at=timezone.now()
        )
        return AccountExport.objects.filter(pk=export_id).first()
    with transaction.atomic():
        # The person's row first, then the export: the order account_export_request locks them in.
        # The other order deadlocked a second export request against this one (it held the person
        # and waited for the export; the ready notification's foreign-key check waited for the
        # person). Locks on a person are FOR NO KEY UPDATE everywhere: they serialise that person's
        # writes without making every insert that references them wait.
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True).first()
        export = AccountExport.objects.select_for_update().filter(pk=export_id).first()
        if export is None or export.status != AccountExportStatus.PENDING:
            # The account was deleted (or the export finished elsewhere) meanwhile: keep nothing.
            delete_files_on_commit([written.storage_path])
            return export
        now = timezone.now()
        export.status = AccountExportStatus.READY
        export.path = written.storage_path
        export.size_bytes = written.size_bytes
        export.file_count = written.file_count
        export.finished_at = now
        export.expires_at = now + ACCOUNT_EXPORT_TTL
        export.save()
        ports.announce_export_ready(user=user, export_id=export.pk)
    return export


def account_export_open(*, export: AccountExport):
    """The stored ZIP, opened for reading (the caller checked it is the owner's and ready)."""
    return default_storage.open(export.path, "rb")


@transaction.atomic
def account_exports_purge_expired() -> int:
    """Erase archives past their download window, and failed exports older than that window."""
    now = timezone.now()
    rows = AccountExport.objects.filter(
        Q(status=AccountExportStatus.READY, expires_at__lt=now)
        | Q(status=AccountExportStatus.FAILED, created_at__lt=now - ACCOUNT_EXPORT_TTL)
    )
    paths = list(rows.values_list("path", flat=True))
    deleted, _ = rows.delete()
    delete_files_on_commit(paths)
    return deleted
