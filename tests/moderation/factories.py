"""Moderators, reports and decided cases for the case-layer tests, made through the services."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.cache import cache

from moderation import services
from moderation.models import Action, Case, Report
from moderation.roles import MODERATOR_GROUP, moderator_group_sync
from sora_social.users.models import User
from tests.users.factories import UserFactory


def moderator(**kwargs) -> User:
    """A staff account in the moderator group (not a superuser), as an operator would make one."""
    if not Group.objects.filter(name=MODERATOR_GROUP).exists():
        moderator_group_sync()  # a transactional test's flush emptied the auth tables
    user = UserFactory(is_staff=True, **kwargs)
    user.groups.add(Group.objects.get(name=MODERATOR_GROUP))
    return User.objects.get(pk=user.pk)  # fresh, so no permission cache from before the group


def report(
    *, reporter: User | None = None, target_type: str, target_id: int, reason: str = "spam", text: str = ""
) -> Report:
    return services.report_create(
        reporter=reporter or UserFactory(), target_type=target_type, target_id=target_id, reason=reason, text=text
    )


def case_of(report_row: Report) -> Case:
    return Case.objects.get(pk=report_row.case_id)


def act(case: Case, by: User, kind: str, reason: str = "Breaks the rules.", **kwargs) -> Action:
    return services.action_take(case=case, moderator=by, kind=kind, reason=reason, **kwargs)


def clear_report_throttle(*users: User) -> None:
    """The report throttle counts in Redis, which outlives a test's database rollback."""
    for user in users:
        cache.delete(f"throttle_moderation_reports_{user.pk}")
