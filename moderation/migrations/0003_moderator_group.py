"""The `moderator` group with only the permissions a moderator needs (moderation/roles.py)."""

from django.db import migrations


def create_group(apps, schema_editor):
    from moderation.roles import moderator_group_sync

    moderator_group_sync(apps=apps, using=schema_editor.connection.alias)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(name="moderator").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0002_cases_reports_actions_appeals"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("users", "0001_initial"),
        ("feed", "0001_initial"),
        ("generation", "0003_rendition_posted_at"),
        ("cameos", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
