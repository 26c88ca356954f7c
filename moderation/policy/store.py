"""The one table the policy layer owns: the banned-media list the media check reads.

A Django model, so it lives apart from the plain checks; `moderation.models` imports it (Django
registers models through the app's models module, under the `moderation` label and the same
table and migrations as before), and the case layer reaches it only through
`moderation.policy.services` (banned_media_add / banned_media_remove). Nothing here imports the
case layer.
"""

from __future__ import annotations

from django.db import models
from django.utils.timezone import now


class BannedMediaHash(models.Model):
    """A 64-bit perceptual hash (imagehash.phash, 16 hex digits) of a frame of banned media.

    Generated videos whose sampled frames come within a small Hamming distance of one of these
    are blocked (moderation.policy.media). Added by `banned_media_add`, e.g. when a case removes
    a video; `source` says where it came from ("case:42", "import:…").
    """

    hash = models.CharField(max_length=16, unique=True)
    reason = models.CharField(max_length=300, blank=True, default="")
    source = models.CharField(max_length=100, blank=True, default="", db_index=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        app_label = "moderation"
        constraints = [
            models.CheckConstraint(condition=models.Q(hash__regex=r"^[0-9a-f]{16}$"), name="banned_media_hash_hex16"),
        ]
        verbose_name = "banned media hash"
        verbose_name_plural = "banned media hashes"

    def __str__(self) -> str:
        return self.hash
