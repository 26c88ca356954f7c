# The (user, received_at) covering index of the engagement log (see EngagementEvent). Built
# CONCURRENTLY: on a live log of tens of millions of rows a plain CREATE INDEX would block
# event ingestion for the minutes it takes.

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("feed", "0003_post_age_restricted"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="engagementevent",
            index=models.Index(
                fields=["user", "received_at"],
                include=("type", "post_id", "occurred_at", "completion", "watch_ms"),
                name="event_user_recent",
            ),
        ),
    ]
