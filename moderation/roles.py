"""The `moderator` group: staff accounts that are not superusers, with only what the job needs.

They may read users, posts, comments, videos, generation jobs and cameos; read and work cases
(change_case: take or release one); add actions (only through the console's action buttons or
the moderation API, which call the services); decide appeals (change_appeal). They get no
permission on passwords (no change_user), tokens, credit or royalty ledgers, groups or
permissions, and no change or delete on actions (the audit log).

The group is created by a data migration and kept exactly in step by a post_migrate handler
(so a flushed test database, or a new permission here, gets it right on the next migrate).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps

MODERATOR_GROUP = "moderator"

# app label -> codenames. Nothing else: the sync removes anything added to the group by hand.
MODERATOR_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "moderation": (
        "view_report",
        "view_case",
        "change_case",
        "view_action",
        "add_action",
        "view_appeal",
        "change_appeal",
        "view_bannedmediahash",
    ),
    "users": ("view_user",),
    "feed": ("view_post", "view_comment"),
    "generation": ("view_video", "view_generationjob"),
    "cameos": ("view_cameo", "view_cameoappearance"),
}


def moderator_group_sync(*, apps: Any = global_apps, using: str = "default") -> None:
    """Create the group (if needed) and give it exactly MODERATOR_PERMISSIONS."""
    from django.contrib.auth.management import create_permissions

    for label in MODERATOR_PERMISSIONS:
        app_config = apps.get_app_config(label)
        # A migration's historical registry has no models_module; create_permissions skips such apps.
        had_module = getattr(app_config, "models_module", None)
        app_config.models_module = had_module or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = had_module
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.using(using).get_or_create(name=MODERATOR_GROUP)
    wanted = []
    for label, codenames in MODERATOR_PERMISSIONS.items():
        rows = list(permission_model.objects.using(using).filter(content_type__app_label=label, codename__in=codenames))
        missing = set(codenames) - {p.codename for p in rows}
        if missing:
            raise LookupError(f"permissions not found for {label}: {sorted(missing)}")
        wanted.extend(rows)
    group.permissions.set(wanted)


def on_post_migrate(sender, *, apps: Any = global_apps, using: str = "default", **kwargs) -> None:
    moderator_group_sync(apps=apps, using=using)


def is_moderator(user: Any) -> bool:
    """Staff who may take moderation actions (the moderator group, or a superuser)."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("moderation.add_action")
    )
