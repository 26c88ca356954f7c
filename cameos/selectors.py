"""Reads about cameos that several callers need, and the one consent decision: `can_use_cameo`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from cameos.models import (
    Cameo,
    CameoAccessEntry,
    CameoAppearance,
    CameoAudience,
    CameoKind,
    CameoReference,
    CameoRequest,
    CameoStatus,
    RightsHolder,
    RoyaltyEntry,
    RoyaltyParty,
)
from sora_social.common.errors import NotFound
from sora_social.users.dates import adult_born_by, is_minor_born
from sora_social.users.models import Block, Follow, User

# --- the decision --------------------------------------------------------------------------


@dataclass(frozen=True)
class CameoDecision:
    """Whether a user may feature a cameo in a generation, and why (a code and a sentence)."""

    allowed: bool
    code: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Facts:
    """Everything the decision reads, gathered by one or many queries."""

    authenticated: bool
    is_owner: bool
    cameo_status: str
    audience: str
    blocked: bool
    entry: str | None  # "allow", "deny" or None
    mutuals: bool
    owner_is_minor: bool
    pending_request: bool
    owner_active: bool = True


_INACTIVE_REASONS = {
    CameoStatus.PENDING: "This cameo is still being verified.",
    CameoStatus.REJECTED: "This cameo did not pass verification.",
    CameoStatus.REVOKED: "The owner has withdrawn this cameo.",
}


def _decide(facts: _Facts) -> CameoDecision:
    """The rules, in order. The first that applies decides. Nothing else in the code base decides."""
    if facts.cameo_status != CameoStatus.ACTIVE:
        return CameoDecision(False, "cameo_not_active", _INACTIVE_REASONS.get(facts.cameo_status, "Not active."))
    if not facts.owner_active:
        return CameoDecision(False, "owner_inactive", "The owner's account is closed.")
    if not facts.authenticated:
        return CameoDecision(False, "not_authenticated", "Log in to use cameos.")
    if facts.is_owner:
        return CameoDecision(True, "owner", "It is your own cameo.")
    if facts.blocked:
        return CameoDecision(False, "blocked", "You cannot use this cameo.")
    if facts.entry == CameoAccessEntry.Effect.DENY:
        return CameoDecision(False, "deny_list", "The owner has not allowed you to use this cameo.")
    if facts.owner_is_minor and not facts.mutuals:
        # A minor's cameo: mutuals at most, whatever the audience or the allow list says.
        return CameoDecision(
            False, "minor_mutuals_only", "This cameo belongs to a minor; only people they follow back may use it."
        )
    if facts.entry == CameoAccessEntry.Effect.ALLOW:
        return CameoDecision(True, "allow_list", "The owner has allowed you to use this cameo.")
    if facts.audience == CameoAudience.ONLY_ME:
        return CameoDecision(False, "audience_only_me", "The owner keeps this cameo to themselves.")
    if facts.audience == CameoAudience.APPROVED:
        if facts.pending_request:
            return CameoDecision(
                False, "request_pending", "Your request to use this cameo is waiting for the owner's decision."
            )
        return CameoDecision(False, "approval_required", "The owner approves each person: ask to use this cameo.")
    if facts.audience == CameoAudience.MUTUALS:
        if facts.mutuals:
            return CameoDecision(True, "mutuals", "You and the owner follow each other.")
        return CameoDecision(False, "not_mutuals", "Only people the owner follows back may use this cameo.")
    return CameoDecision(True, "everyone", "The owner lets everyone use this cameo.")


def _user_id(user: User | int | None) -> int | None:
    if user is None:
        return None
    if isinstance(user, int):
        return user
    return user.pk if user.is_authenticated else None


def can_use_cameo(user: User | int | None, cameo: Cameo) -> CameoDecision:
    """May `user` feature `cameo` in a generation now? Generation asks at submit and at completion.

    Order: not active (or the owner's account closed) -> deny; owner -> allow; a block either
    way -> deny; on the deny list -> deny; a minor's cameo and not mutuals -> deny; on the allow
    list (an approved request is one) -> allow; then the audience: only me -> deny; people I
    approve -> deny (ask); mutuals -> allow mutuals; everyone -> allow.
    """
    return _decide(_facts_for(_user_id(user), cameo))


def _facts_for(user_id: int | None, cameo: Cameo) -> _Facts:
    base = {"cameo_status": cameo.status, "audience": cameo.audience, "owner_active": cameo.owner.is_active}
    if user_id is None:
        return _Facts(False, False, blocked=False, entry=None, mutuals=False, owner_is_minor=False,
                      pending_request=False, **base)  # fmt: skip
    if user_id == cameo.owner_id:
        return _Facts(True, True, blocked=False, entry=None, mutuals=False, owner_is_minor=False,
                      pending_request=False, **base)  # fmt: skip
    owner_id = cameo.owner_id
    blocked = Block.objects.filter(
        Q(blocker_id=owner_id, blocked_id=user_id) | Q(blocker_id=user_id, blocked_id=owner_id)
    ).exists()
    follows = set(
        Follow.objects.filter(
            Q(follower_id=owner_id, followee_id=user_id) | Q(follower_id=user_id, followee_id=owner_id)
        ).values_list("follower_id", flat=True)
    )
    entry = CameoAccessEntry.objects.filter(cameo_id=cameo.pk, user_id=user_id).values_list("effect", flat=True).first()
    pending = CameoRequest.objects.filter(
        cameo_id=cameo.pk, requester_id=user_id, status=CameoRequest.Status.PENDING
    ).exists()
    return _Facts(
        True,
        False,
        blocked=blocked,
        entry=entry,
        mutuals=follows == {owner_id, user_id},
        owner_is_minor=cameo.owner.is_minor,
        pending_request=pending,
        **base,
    )


def cameo_decisions(user: User | int | None, cameos: Iterable[Cameo]) -> dict[int, CameoDecision]:
    """`can_use_cameo` for many cameos at once (lists), in a fixed number of queries."""
    cameos = list(cameos)
    user_id = _user_id(user)
    if not cameos:
        return {}
    if user_id is None:
        return {c.pk: _decide(_facts_for(None, c)) for c in cameos}
    owner_ids = {c.owner_id for c in cameos} - {user_id}
    cameo_ids = [c.pk for c in cameos]
    blocked = set()
    for blocker, blocked_id in Block.objects.filter(
        Q(blocker_id=user_id, blocked_id__in=owner_ids) | Q(blocked_id=user_id, blocker_id__in=owner_ids)
    ).values_list("blocker_id", "blocked_id"):
        blocked.add(blocked_id if blocker == user_id else blocker)
    i_follow = set(
        Follow.objects.filter(follower_id=user_id, followee_id__in=owner_ids).values_list("followee_id", flat=True)
    )
    follow_me = set(
        Follow.objects.filter(followee_id=user_id, follower_id__in=owner_ids).values_list("follower_id", flat=True)
    )
    entries = dict(
        CameoAccessEntry.objects.filter(cameo_id__in=cameo_ids, user_id=user_id).values_list("cameo_id", "effect")
    )
    pending = set(
        CameoRequest.objects.filter(
            cameo_id__in=cameo_ids, requester_id=user_id, status=CameoRequest.Status.PENDING
        ).values_list("cameo_id", flat=True)
    )
    owners = {
        pk: (born, active)
        for pk, born, active in User.objects.filter(pk__in={c.owner_id for c in cameos}).values_list(
            "pk", "date_of_birth", "is_active"
        )
    }
    out: dict[int, CameoDecision] = {}
    for c in cameos:
        owner = c.owner_id
        facts = _Facts(
            True,
            owner == user_id,
            cameo_status=c.status,
            audience=c.audience,
            blocked=owner in blocked,
            entry=entries.get(c.pk),
            mutuals=owner in i_follow and owner in follow_me,
            owner_is_minor=owner != user_id and is_minor_born(owners[owner][0]),
            pending_request=c.pk in pending,
            owner_active=owners[owner][1],
        )
        out[c.pk] = _decide(facts)
    return out


# Decisions under which a cameo is shown to a non-owner (so they can use it or ask for it).
VISIBLE_CODES = frozenset({"allow_list", "mutuals", "everyone", "approval_required", "request_pending"})


def cameo_is_visible(decision: CameoDecision) -> bool:
    return decision.code == "owner" or decision.code in VISIBLE_CODES


# --- lookups -------------------------------------------------------------------------------


def _base() -> QuerySet[Cameo]:
    return Cameo.objects.select_related("owner", "licence")


def cameo_get_owned(*, owner: User, cameo_id: int) -> Cameo:
    """The owner's cameo, any status; anyone else gets the same 404 as for a missing one."""
    cameo = _base().filter(pk=cameo_id, owner_id=owner.pk).first()
    if cameo is None:
        raise NotFound("cameo_not_found", "No such cameo.")
    return cameo


def cameo_get_visible(*, viewer: User, cameo_id: int) -> tuple[Cameo, CameoDecision]:
    """A cameo the viewer may see (own, usable, or open to requests), with the viewer's decision."""
    cameo = _base().filter(pk=cameo_id).first()
    if cameo is None:
        raise NotFound("cameo_not_found", "No such cameo.")
    decision = can_use_cameo(viewer, cameo)
    # The owner sees their cameo in every status (pending, rejected with its reason, deleted).
    if cameo.owner_id != viewer.pk and not cameo_is_visible(decision):
        # 404, not 403: a private cameo's existence is not revealed.
        raise NotFound("cameo_not_found", "No such cameo.")
    return cameo, decision


def cameos_of_owner(*, owner: User) -> QuerySet[Cameo]:
    return _base().filter(owner_id=owner.pk)


def cameos_visible_to(*, viewer: User) -> QuerySet[Cameo]:
    """Active cameos of others that `viewer` may use or ask for: the database side of
    `cameo_is_visible`, so lists page correctly. The API still attaches `can_use_cameo`'s
    decision to each row (a test checks the two agree)."""
    uid = viewer.pk
    blocked_owner = Block.objects.filter(
        Q(blocker_id=OuterRef("owner_id"), blocked_id=uid) | Q(blocker_id=uid, blocked_id=OuterRef("owner_id"))
    )
    entry = CameoAccessEntry.objects.filter(cameo_id=OuterRef("pk"), user_id=uid)
    i_follow = Follow.objects.filter(follower_id=uid, followee_id=OuterRef("owner_id"))
    follows_me = Follow.objects.filter(follower_id=OuterRef("owner_id"), followee_id=uid)
    adult = Q(owner__date_of_birth__isnull=False, owner__date_of_birth__lte=adult_born_by())
    mutual = Q(_i_follow=True, _follows_me=True)
    return (
        _base()
        .filter(status=CameoStatus.ACTIVE, owner__is_active=True)
        .exclude(owner_id=uid)
        .annotate(
            _blocked=Exists(blocked_owner),
            _allowed=Exists(entry.filter(effect=CameoAccessEntry.Effect.ALLOW)),
            _denied=Exists(entry.filter(effect=CameoAccessEntry.Effect.DENY)),
            _i_follow=Exists(i_follow),
            _follows_me=Exists(follows_me),
        )
        .filter(_blocked=False, _denied=False)
        .filter(adult | mutual)
        .filter(
            Q(_allowed=True)
            | Q(audience__in=[CameoAudience.APPROVED, CameoAudience.EVERYONE])
            | (Q(audience=CameoAudience.MUTUALS) & mutual)
        )
    )


def cameo_search(*, viewer: User, query: str) -> QuerySet[Cameo]:
    query = query.strip().lstrip("@")
    rows = cameos_visible_to(viewer=viewer)
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(display_name__icontains=query) | Q(owner__handle__iexact=query))
    return rows


def appearances_of(*, cameo: Cameo, status: str | None = None) -> QuerySet[CameoAppearance]:
    rows = CameoAppearance.objects.filter(cameo=cameo).select_related("creator")
    if status:
        rows = rows.filter(status=status)
    return rows


def appearances_of_video(*, video_id: int) -> QuerySet[CameoAppearance]:
    """Which cameos a video features (generation and feed ask when showing or removing it)."""
    return CameoAppearance.objects.filter(video_id=video_id).select_related("cameo", "cameo__owner")


def cameos_shown_by_video(*, video_id: int) -> list[Cameo]:
    """Every cameo a video shows, inherited ones included: its appearances in any status (a
    removed appearance still says whose likeness the pixels carry). A video made from this one
    inherits all of them."""
    rows = CameoAppearance.objects.filter(video_id=video_id).select_related("cameo", "cameo__owner").order_by("pk")
    return [row.cameo for row in rows]


def references_of(*, cameo: Cameo) -> QuerySet[CameoReference]:
    return CameoReference.objects.filter(cameo=cameo).order_by("index")


def access_entries_of(*, cameo: Cameo) -> QuerySet[CameoAccessEntry]:
    return CameoAccessEntry.objects.filter(cameo=cameo).select_related("user")


def requests_for(*, cameo: Cameo, status: str | None = None) -> QuerySet[CameoRequest]:
    rows = CameoRequest.objects.filter(cameo=cameo).select_related("requester", "cameo")
    return rows.filter(status=status) if status else rows


def requests_by(*, requester: User) -> QuerySet[CameoRequest]:
    return CameoRequest.objects.filter(requester=requester).select_related("cameo", "cameo__owner")


def is_rights_holder(user: User) -> bool:
    return RightsHolder.objects.filter(user_id=user.pk, is_active=True).exists()


# --- the policy layer's view ---------------------------------------------------------------


def cameo_policy_subject_fields(cameo: Cameo) -> dict[str, Any]:
    """The keyword arguments of `moderation.policy.subjects.CameoSubject` for this cameo.

    cameos may not import the policy layer (it sits above), so the caller that holds both
    (generation) builds the subject: `CameoSubject(**cameo_policy_subject_fields(cameo))`.
    """
    licence = getattr(cameo, "licence", None) if cameo.kind == CameoKind.CHARACTER else None
    return {
        "cameo_id": cameo.pk,
        "kind": cameo.kind,
        "display_name": cameo.display_name,
        "owner_handle": cameo.owner.handle,
        "owner_display_name": cameo.owner.display_name,
        # A person cameo is mentioned by its owner's @handle; others by their own name.
        "handle": "" if cameo.kind == CameoKind.PERSON else cameo.name,
        "aliases": tuple(cameo.aliases or ()),
        "verified": cameo.status == CameoStatus.ACTIVE and cameo.verified_at is not None,
        "owner_is_minor": cameo.owner.is_minor,
        "restrictions": frozenset(cameo.restrictions or ()),
        "allowed_themes": tuple(licence.allowed_themes) if licence else (),
        "forbidden_themes": tuple(licence.forbidden_themes) if licence else (),
    }


def cameo_generation_view(cameo: Cameo) -> dict[str, Any]:
    """What a generator needs: the instructions to follow and the primary reference image."""
    primary = CameoReference.objects.filter(cameo=cameo, is_primary=True).first()
    return {
        "cameo_id": cameo.pk,
        "kind": cameo.kind,
        "name": cameo.name,
        "display_name": cameo.display_name,
        "instructions": cameo.instructions,
        "restrictions": list(cameo.restrictions or ()),
        "reference_image_path": primary.path if primary else "",
        "embedding": cameo.embedding,
        "embedding_version": cameo.embedding_version,
    }


# --- royalties -----------------------------------------------------------------------------


def royalty_balance(*, party: str, account: User | None = None) -> int:
    """A party's balance, derived from the ledger (never stored)."""
    rows = RoyaltyEntry.objects.filter(party=party)
    rows = rows.filter(account__isnull=True) if party == RoyaltyParty.PLATFORM else rows.filter(account=account)
    return int(rows.aggregate(total=Sum("amount"))["total"] or 0)


def royalty_entries_for_rights_holder(
    *, user: User, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[RoyaltyEntry]:
    rows = RoyaltyEntry.objects.filter(party=RoyaltyParty.RIGHTS_HOLDER, account=user).select_related("cameo")
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    return rows


def royalty_statement_totals(
    *, user: User, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """Per-character totals for a rights holder over a period, plus the all-time balance."""
    rows = royalty_entries_for_rights_holder(user=user, since=since, until=until)
    per_cameo = (
        rows.values("cameo_id", "cameo__name", "cameo__display_name")
        .annotate(
            earned=Sum("amount", filter=Q(entry_type=RoyaltyEntry.EntryType.CHARGE)),
            reversed=Sum("amount", filter=Q(entry_type=RoyaltyEntry.EntryType.REVERSAL)),
            net=Sum("amount"),
            generations=Count("id", filter=Q(entry_type=RoyaltyEntry.EntryType.CHARGE)),
            refunds=Count("id", filter=Q(entry_type=RoyaltyEntry.EntryType.REVERSAL)),
        )
        .order_by("-net", "cameo_id")
    )
    characters = [
        {
            "cameo_id": row["cameo_id"],
            "name": row["cameo__name"],
            "display_name": row["cameo__display_name"],
            "earned": int(row["earned"] or 0),
            "reversed": int(row["reversed"] or 0),
            "net": int(row["net"] or 0),
            "generations": row["generations"],
            "refunds": row["refunds"],
        }
        for row in per_cameo
    ]
    return {
        "since": since,
        "until": until,
        "generated_at": timezone.now(),
        "period_net": sum(c["net"] for c in characters),
        "balance": royalty_balance(party=RoyaltyParty.RIGHTS_HOLDER, account=user),
        "characters": characters,
    }
