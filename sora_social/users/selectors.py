"""Reads about users and the social graph that several apps need."""

from __future__ import annotations

from collections.abc import Iterable

from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from sora_social.common.errors import NotFound
from sora_social.users.models import AccountExport, AuthToken, Block, Follow, User


def blocked_user_ids(user: User) -> set[int]:
    """Everyone hidden from `user` by a block, in either direction."""
    if not user.is_authenticated:
        return set()
    rows = Block.objects.filter(Q(blocker=user) | Q(blocked=user)).values_list("blocker_id", "blocked_id")
    return {other for pair in rows for other in pair if other != user.pk}


def is_blocked_between(a: User | int, b: User | int) -> bool:
    a_id = a if isinstance(a, int) else a.pk
    b_id = b if isinstance(b, int) else b.pk
    return Block.objects.filter(Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)).exists()


def following_ids(user: User | int) -> set[int]:
    user_id = user if isinstance(user, int) else user.pk
    return set(Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True))


def follower_ids(user: User | int) -> set[int]:
    user_id = user if isinstance(user, int) else user.pk
    return set(Follow.objects.filter(followee_id=user_id).values_list("follower_id", flat=True))


def friend_ids(user: User | int) -> set[int]:
    """Friends are mutual follows."""
    user_id = user if isinstance(user, int) else user.pk
    back = Follow.objects.filter(follower_id=OuterRef("followee_id"), followee_id=user_id)
    return set(Follow.objects.filter(follower_id=user_id).filter(Exists(back)).values_list("followee_id", flat=True))


def is_following(follower: User | int, followee: User | int) -> bool:
    f = follower if isinstance(follower, int) else follower.pk
    t = followee if isinstance(followee, int) else followee.pk
    return Follow.objects.filter(follower_id=f, followee_id=t).exists()


def are_friends(a: User | int, b: User | int) -> bool:
    return is_following(a, b) and is_following(b, a)


def relationship(viewer: User, other: User) -> dict[str, bool]:
    """How `viewer` stands to `other`, as a profile shows it."""
    if not viewer.is_authenticated or viewer.pk == other.pk:
        return {"following": False, "followed_by": False, "friends": False, "blocking": False}
    edges = set(
        Follow.objects.filter(Q(follower=viewer, followee=other) | Q(follower=other, followee=viewer)).values_list(
            "follower_id", flat=True
        )
    )
    following = viewer.pk in edges
    followed_by = other.pk in edges
    return {
        "following": following,
        "followed_by": followed_by,
        "friends": following and followed_by,
        "blocking": Block.objects.filter(blocker=viewer, blocked=other).exists(),
    }


def user_get_visible(*, viewer: User, handle: str) -> User:
    """The user with `handle`, as `viewer` may see them; a block either way reads as absent."""
    user = User.objects.filter(handle__iexact=handle.lstrip("@"), is_active=True).first()
    if user is None or (viewer.is_authenticated and viewer.pk != user.pk and is_blocked_between(viewer, user)):
        raise NotFound("user_not_found", f"No user @{handle.lstrip('@')}.")
    return user


def users_by_handles(handles: Iterable[str]) -> dict[str, User]:
    """Active users by lower-cased handle."""
    wanted = {h.lstrip("@").lower() for h in handles}
    if not wanted:
        return {}
    query = Q()
    for handle in wanted:
        query |= Q(handle__iexact=handle)
    return {u.handle.lower(): u for u in User.objects.filter(query, is_active=True)}


def follower_edges(*, user: User, viewer: User) -> QuerySet[Follow]:
    """Follow rows pointing at `user`, without people hidden from `viewer` by a block."""
    hidden = blocked_user_ids(viewer)
    return Follow.objects.filter(followee=user).exclude(follower_id__in=hidden).select_related("follower")


def following_edges(*, user: User, viewer: User) -> QuerySet[Follow]:
    hidden = blocked_user_ids(viewer)
    return Follow.objects.filter(follower=user).exclude(followee_id__in=hidden).select_related("followee")


def friend_edges(*, user: User, viewer: User) -> QuerySet[Follow]:
    hidden = blocked_user_ids(viewer)
    back = Follow.objects.filter(follower_id=OuterRef("followee_id"), followee_id=user.pk)
    return (
        Follow.objects.filter(follower=user)
        .filter(Exists(back))
        .exclude(followee_id__in=hidden)
        .select_related("followee")
    )


def block_edges(*, user: User) -> QuerySet[Block]:
    return Block.objects.filter(blocker=user).select_related("blocked")


def token_is_live(*, token_id: int) -> bool:
    """Not revoked, not expired, and its user not deactivated (what authentication accepts)."""
    return AuthToken.objects.filter(
        pk=token_id, revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True
    ).exists()


def token_list(*, user: User) -> QuerySet[AuthToken]:
    return AuthToken.objects.filter(user=user, revoked_at__isnull=True)


def follow_counts(user: User) -> dict[str, int]:
    return {
        "followers_count": Follow.objects.filter(followee=user).count(),
        "following_count": Follow.objects.filter(follower=user).count(),
    }


# --- data exports -------------------------------------------------------------------------

# A download link works for an hour, like a video's content URL: long enough to start a large
# download, short enough that a leaked link soon stops working.
EXPORT_LINK_TTL_S = 60 * 60
_EXPORT_LINK_SALT = "users.account-export-download"


def account_exports_of(*, user: User) -> QuerySet[AccountExport]:
    return AccountExport.objects.filter(user=user).order_by("-created_at", "-id")


def account_export_get_owned(*, user: User, export_id: int) -> AccountExport:
    """One of the user's own exports; anyone else's reads as absent."""
    export = AccountExport.objects.filter(pk=export_id, user=user).first()
    if export is None:
        raise NotFound("export_not_found", "No such export.")
    return export


def account_export_link_token(*, export: AccountExport) -> str:
    """A signed grant to download this export, bound to it and its owner."""
    return signing.dumps({"e": export.pk, "u": export.user_id}, salt=_EXPORT_LINK_SALT, compress=True)


def account_export_owner_from_token(*, token: str, export_id: int) -> int | None:
    """The owner's id a valid, unexpired link grants for this export, else None."""
    try:
        grant = signing.loads(token, salt=_EXPORT_LINK_SALT, max_age=EXPORT_LINK_TTL_S)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    if not isinstance(grant, dict) or grant.get("e") != export_id or not isinstance(grant.get("u"), int):
        return None
    return grant["u"]
