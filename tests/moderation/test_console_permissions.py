"""Permission boundaries: every console page with a moderator account (staff, moderator group,
not a superuser), the moderation API for moderators and everyone else."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from feed.services import like_create
from moderation import services
from moderation.roles import MODERATOR_GROUP, MODERATOR_PERMISSIONS, moderator_group_sync
from sora_social.users.models import AuthToken, User
from sora_social.users.services import token_issue
from tests.cameos.factories import CameoFactory, CharacterFactory
from tests.feed.factories import CommentFactory, PostFactory
from tests.moderation.factories import act, case_of, moderator, report
from tests.users.factories import BlockFactory, FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_world():
    """At least one row of every model the console shows."""
    author = UserFactory()
    post = PostFactory(author=author)
    CommentFactory(post=post)
    like_create(user=UserFactory(), post_id=post.pk)
    FollowFactory()
    BlockFactory()
    token_issue(user=author, name="phone")
    CameoFactory(owner=author)
    CharacterFactory()
    case = case_of(report(target_type="post", target_id=post.pk, reason="spam"))
    mod = moderator()
    action = act(case, mod, "remove", "Spam.")
    services.appeal_create(action_id=action.pk, appellant=author, text="Not spam.")
    return {"author": author, "moderator": mod}


def _console(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _granted(model) -> set[str]:
    return set(MODERATOR_PERMISSIONS.get(model._meta.app_label, ()))


def test_the_moderator_group_has_exactly_the_permissions_it_needs():
    group = Group.objects.get(name=MODERATOR_GROUP)
    have = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    want = {f"{label}.{code}" for label, codes in MODERATOR_PERMISSIONS.items() for code in codes}
    assert have == want
    # Nothing about passwords, tokens, ledgers, groups or other accounts' settings.
    for forbidden in (
        "users.change_user",
        "users.add_user",
        "users.delete_user",
        "users.view_authtoken",
        "users.change_authtoken",
        "auth.change_group",
        "auth.view_permission",
        "cameos.view_royaltyentry",
        "generation.view_creditentry",
        "moderation.change_action",
        "moderation.delete_action",
        "moderation.delete_case",
    ):
        assert forbidden not in have, forbidden
    # Anything added by hand is taken away again by the sync (after every migrate).
    group.permissions.add(Permission.objects.get(codename="change_user"))
    moderator_group_sync()
    assert not group.permissions.filter(codename="change_user").exists()


def test_a_moderator_can_only_view_what_they_need_and_never_change_or_delete(console_world):
    mod = console_world["moderator"]
    assert not mod.is_superuser and mod.is_staff
    client = _console(mod)
    assert client.get("/console/").status_code == 200
    checked = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        may_view = f"view_{opts.model_name}" in _granted(model)
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        status = client.get(changelist).status_code
        assert status == (200 if may_view else 403), (opts.label, status)
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
        assert client.get(add).status_code == 403, opts.label
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        checked += 1
        change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[obj.pk])
        assert client.get(change).status_code == (200 if may_view else 403), opts.label
        posted = client.post(change, {})
        assert posted.status_code in (403, 405), (opts.label, posted.status_code)
        assert client.get(delete).status_code == 403, opts.label
        assert client.post(delete, {"post": "yes"}).status_code == 403, opts.label
        assert model._default_manager.filter(pk=obj.pk).exists()
    assert checked >= 15


def test_a_moderator_cannot_touch_passwords_tokens_ledgers_or_other_moderators(console_world):
    mod = console_world["moderator"]
    colleague = moderator()
    client = _console(mod)
    password_url = reverse("admin:auth_user_password_change", args=[colleague.pk])
    assert client.get(password_url).status_code == 403
    assert (
        client.post(password_url, {"password1": "hijack-pass-123", "password2": "hijack-pass-123"}).status_code == 403
    )
    own_password = reverse("admin:auth_user_password_change", args=[mod.pk])
    assert client.get(own_password).status_code == 403
    change_colleague = reverse("admin:users_user_change", args=[colleague.pk])
    response = client.post(change_colleague, {"handle": colleague.handle, "is_staff": "", "is_active": ""})
    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.is_staff and colleague.is_active and colleague.check_password("correct-horse-battery")
    assert client.get(reverse("admin:users_authtoken_changelist")).status_code == 403
    token = AuthToken.objects.first()
    assert client.get(reverse("admin:users_authtoken_change", args=[token.pk])).status_code == 403
    assert client.get(reverse("admin:cameos_royaltyentry_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    group = Group.objects.get(name=MODERATOR_GROUP)
    assert client.get(reverse("admin:auth_group_change", args=[group.pk])).status_code == 403
    # The read-only user page shows no editable password or permission fields.
    page = client.get(change_colleague).content.decode()
    assert 'name="password' not in page and 'name="is_superuser"' not in page and 'name="groups"' not in page


def test_normal_users_are_kept_out_of_the_console_and_the_moderator_api(console_world, client_for):
    user = UserFactory()
    client = _console(user)
    response = client.get("/console/moderation/case/")
    assert response.status_code == 302 and "/console/login/" in response["Location"]
    assert client.get("/console/").status_code == 302
    case_id = console_world["author"].moderation_cases.first().pk
    assert client.get(f"/console/moderation/case/{case_id}/video/").status_code == 302
    api = client_for(user)
    for method, path in [
        ("get", "/api/v1/moderation/metrics"),
        ("get", "/api/v1/moderation/cases"),
        ("get", f"/api/v1/moderation/cases/{case_id}"),
        ("post", f"/api/v1/moderation/cases/{case_id}/actions"),
        ("post", "/api/v1/moderation/appeals/1/decision"),
    ]:
        response = getattr(api, method)(path, {}, format="json")
        assert response.status_code == 403, (path, response.status_code)
        assert response.json()["error"]["code"] == "permission_denied"


def test_staff_outside_the_moderator_group_cannot_moderate(console_world, client_for):
    staff = UserFactory(is_staff=True)
    assert _console(staff).get("/console/moderation/case/").status_code == 403
    assert client_for(staff).get("/api/v1/moderation/metrics").status_code == 403
    assert client_for(staff).get("/api/v1/moderation/cases").status_code == 403


def test_moderators_use_the_moderator_api(console_world, client_for):
    mod = moderator()
    api = client_for(mod)
    queue = api.get("/api/v1/moderation/cases", {"status": "appealed"})
    assert queue.status_code == 200 and queue.json()["count"] == 1
    case_id = queue.json()["results"][0]["id"]
    detail = api.get(f"/api/v1/moderation/cases/{case_id}").json()
    assert detail["pending_appeal"]["status"] == "pending" and detail["actions"][0]["kind"] == "remove"
    assert detail["reports"][0]["reason"] == "spam" and "remove" in detail["allowed_actions"]
    assert api.get("/api/v1/moderation/metrics").status_code == 200


def test_the_group_is_back_after_a_flush_emptied_it():
    from django.apps import apps
    from django.db.models.signals import post_migrate

    Group.objects.filter(name=MODERATOR_GROUP).delete()
    # What a migrate, or a test database flush, sends once it is done:
    config = apps.get_app_config("moderation")
    post_migrate.send(sender=config, app_config=config, verbosity=0, interactive=False, using="default")
    assert Group.objects.get(name=MODERATOR_GROUP).permissions.count() == sum(
        len(v) for v in MODERATOR_PERMISSIONS.values()
    )
