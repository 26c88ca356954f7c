"""What ranking exports and erases when a user leaves (registered on users.ports in
RankingConfig): feed steering (the words a person gave the feed), feed preferences, and the
reports folded from their events."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from feed.ranking.models import FeedPreference, ReportedPost, Steering
from sora_social.users.models import User
from sora_social.users.ports import ExportSection


@transaction.atomic
def ranking_erase_for_account(*, user: User) -> dict[str, int]:
    steering, _ = Steering.objects.filter(user=user).delete()
    FeedPreference.objects.filter(user=user).delete()
    ReportedPost.objects.filter(user=user).delete()
    return {"ranking.steering_deleted": steering}


def ranking_export_for_account(*, user: User) -> Iterable[ExportSection]:
    steering = Steering.objects.filter(user=user).first()
    preference = FeedPreference.objects.filter(user=user).first()
    data = {
        "steering": {"text": steering.text, "terms": steering.terms, "updated_at": steering.updated_at}
        if steering
        else None,
        "personalized": preference.personalized if preference else None,
    }
    return [ExportSection(name="feed_preferences", data=data)]
