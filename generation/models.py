"""Video assets. Posts show them; the generation pipeline (later) makes them from prompts.

Only the `Video` asset lives here for now. The pipeline will extend it (spritesheet, C2PA
status, the job that made it); keep new fields nullable or defaulted so uploads keep working.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


def _asset_path(folder: str, extension: str) -> str:
    # Never the client's file name: a random name under a dated folder, so names neither leak
    # anything nor collide, and a storage listing can be sharded by month.
    return f"{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


def video_file_path(instance: Video, filename: str) -> str:
    return _asset_path("videos", "mp4")


def video_thumbnail_path(instance: Video, filename: str) -> str:
    return _asset_path("thumbnails", "jpg")


class VideoSource(models.TextChoices):
    UPLOAD = "upload", "Uploaded"
    GENERATED = "generated", "Generated"


class VideoStatus(models.TextChoices):
    READY = "ready", "Ready"
    TAKEN_DOWN = "taken_down", "Taken down"


class Video(models.Model):
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    source = models.CharField(max_length=16, choices=VideoSource.choices, default=VideoSource.UPLOAD)
    status = models.CharField(max_length=16, choices=VideoStatus.choices, default=VideoStatus.READY)
    # Files go through the storage API only. Served by an authenticated endpoint (or a signed
    # URL), never from MEDIA_URL, because who may read one depends on the posts showing it.
    file = models.FileField(upload_to=video_file_path, max_length=255)
    thumbnail = models.FileField(upload_to=video_thumbnail_path, max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=40, default="video/mp4")
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    # What decoding found, not what the container claimed.
    duration_s = models.FloatField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frame_count = models.PositiveIntegerField()
    fps = models.FloatField(default=0)
    codec = models.CharField(max_length=16, default="h264")
    has_audio = models.BooleanField(default=False)
    taken_down_at = models.DateTimeField(null=True, blank=True)
    taken_down_reason = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=VideoStatus.values), name="video_status_valid"),
            models.CheckConstraint(
                condition=Q(status="taken_down", taken_down_at__isnull=False)
                | (~Q(status="taken_down") & Q(taken_down_at__isnull=True)),
                name="video_taken_down_has_time",
            ),
            models.CheckConstraint(condition=Q(duration_s__gt=0), name="video_duration_positive"),
        ]
        indexes = [models.Index(fields=["created_by", "-created_at", "-id"], name="video_owner_idx")]

    def __str__(self) -> str:
        return f"video {self.pk} by {self.created_by_id} ({self.width}x{self.height}, {self.duration_s:.1f}s)"

    @property
    def is_taken_down(self) -> bool:
        return self.status == VideoStatus.TAKEN_DOWN


# --- Generation jobs --------------------------------------------------------------------


def new_public_id() -> str:
    # The id clients see (OpenAI's Videos API shape: "video_…"); the integer pk stays internal.
    return f"video_{uuid.uuid4().hex[:24]}"


def job_reference_path(instance: GenerationJob, filename: str) -> str:
    return _asset_path("references", "png")


def video_spritesheet_path(instance: Video, filename: str) -> str:
    return _asset_path("spritesheets", "jpg")


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    BLOCKED = "blocked", "Blocked"


IN_FLIGHT_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
FINAL_STATUSES = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.BLOCKED)


class JobKind(models.TextChoices):
    CREATE = "create", "From a prompt"
    REMIX = "remix", "Remix of a video"
    EXTEND = "extend", "Extension of a video"
    EDIT = "edit", "Edit of a video"


class JobSource(models.TextChoices):
    APP = "app", "The app's REST API"
    OPENAI = "openai", "The OpenAI-compatible /v1/videos API"


class GenerationJob(models.Model):
    """One request to make a video, from submit to a finished draft (or a refusal).

    Status moves only through generation services, under a row lock:
    queued → running → succeeded | failed | blocked, and queued/running → cancelled;
    the reaper may move a running job whose worker died back to queued (attempts + 1).
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_public_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs")
    kind = models.CharField(max_length=10, choices=JobKind.choices, default=JobKind.CREATE)
    source = models.CharField(max_length=10, choices=JobSource.choices, default=JobSource.APP)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=60, blank=True, default="")
    error_message = models.CharField(max_length=500, blank=True, default="")

    prompt = models.TextField(max_length=2000)
    seed = models.BigIntegerField()
    seconds = models.PositiveSmallIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    backend = models.CharField(max_length=30)
    model = models.CharField(max_length=60)
    # The model name the client asked for (/v1/videos `model`, one of generation.served_models);
    # the Videos API answers with it throughout, whatever the backend reports on completion.
    requested_model = models.CharField(max_length=60, blank=True, default="")
    cameos = models.ManyToManyField("cameos.Cameo", through="GenerationJobCameo", related_name="+", blank=True)
    # A remix or edit renders from this video; an extension continues it.
    source_video = models.ForeignKey(
        Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="derived_jobs"
    )
    source_job = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The post remixed (feed sits above generation: a plain id, resolved through a port).
    remix_parent_post_id = models.BigIntegerField(null=True, blank=True)
    remix_strength = models.FloatField(default=0.6)
    input_reference = models.FileField(upload_to=job_reference_path, max_length=255, blank=True, default="")
    # The video an input_reference image was recognised as (a frame or thumbnail of one of ours):
    # the job is then a derivative of it and shows its cameos, though it renders from the image.
    reference_video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    result_video = models.OneToOneField(
        Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_job"
    )
    credits_cost = models.PositiveIntegerField(default=0)
    policy = models.JSONField(default=dict, blank=True)  # what the policy layers said, for audit
    # What the user is told beside the result, e.g. that the demo model cannot draw this prompt
    # (generation/demo_domain.py): [{"code", "message", ...}], set at submit.
    notices = models.JSONField(default=list, blank=True)
    # Jobs with the same non-empty key can be rendered together in one model pass (same backend,
    # conditioning group, steps, length and size; generation.jobs.job_batch_key); "" renders alone.
    batch_key = models.CharField(max_length=120, blank=True, default="")
    idempotency_key = models.CharField(max_length=100, blank=True, default="")
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # Submitted by an app with this key: charged to the key's budget and counted against its
    # jobs in flight, not the person's (generation.credits).
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Deleted by its creator (the Videos API's DELETE): gone from every list and lookup.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            models.CheckConstraint(condition=Q(seconds__in=[4, 8, 12]), name="job_seconds_valid"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_percent"),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"], condition=~Q(idempotency_key=""), name="job_idempotency_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="job_user_idx"),
            models.Index(
                fields=["status", "heartbeat_at"],
                name="job_in_flight_idx",
                condition=Q(status__in=["queued", "running"]),
            ),
            models.Index(
                fields=["api_key"], name="job_key_in_flight_idx", condition=Q(status__in=["queued", "running"])
            ),
            # A gpu worker's batch claim: queued jobs of one key, oldest first.
            models.Index(
                fields=["batch_key", "created_at", "id"], name="job_batch_claim_idx", condition=Q(status="queued")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({self.status})"

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class GenerationJobCameo(models.Model):
    """A cameo a job's video will show: named by the user, or inherited from the video it is made
    from (a remix, edit or extension shows every cameo its source shows: cameos travel with the
    pixels). Both are checked for consent and restrictions alike; only named ones condition the model."""

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="job_cameos")
    cameo = models.ForeignKey("cameos.Cameo", on_delete=models.CASCADE, related_name="generation_jobs")
    position = models.PositiveSmallIntegerField(default=0)
    inherited = models.BooleanField(default=False)
    # The source video this cameo was inherited from (None for a named cameo).
    via_video = models.ForeignKey(Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "cameo"], name="job_cameo_unique")]
        indexes = [models.Index(fields=["cameo", "job"], name="job_cameo_cameo_idx")]

    def __str__(self) -> str:
        return f"cameo {self.cameo_id} in {self.job_id}"


class LineageVia(models.TextChoices):
    REMIX = "remix", "Remix of the video"
    EDIT = "edit", "Edit of the video"
    EXTEND = "extend", "Extension of the video"
    INPUT_REFERENCE = "input_reference", "Rendered from a frame or thumbnail of the video"
    UPLOAD_MATCH = "upload_match", "An upload recognised as (a cut of) the video"


class VideoLineage(models.Model):
    """`video` was made from `source_video` (its pixels came from there), so it shows every cameo
    the source shows. Written once per pair by `generation.services.video_lineage_link`; the
    cameos themselves are recorded as appearances, so lineage never has to be walked to decide."""

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="lineage_sources")
    source_video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="lineage_derivatives")
    via = models.CharField(max_length=20, choices=LineageVia.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["video", "source_video"], name="video_lineage_unique"),
            models.CheckConstraint(condition=~Q(video=models.F("source_video")), name="video_lineage_not_self"),
        ]
        indexes = [models.Index(fields=["source_video"], name="video_lineage_source_idx")]

    def __str__(self) -> str:
        return f"video {self.video_id} from {self.source_video_id} ({self.via})"


class VideoRendition(models.Model):
    """What the pipeline adds to a generated Video: the spritesheet and provenance."""

    video = models.OneToOneField(Video, on_delete=models.CASCADE, related_name="rendition", primary_key=True)
    spritesheet = models.FileField(upload_to=video_spritesheet_path, max_length=255, blank=True, default="")
    c2pa_signed = models.BooleanField(default=False)
    c2pa_manifest_label = models.CharField(max_length=200, blank=True, default="")
    watermark_text = models.CharField(max_length=120, blank=True, default="")
    backend = models.CharField(max_length=30, blank=True, default="")
    model = models.CharField(max_length=60, blank=True, default="")
    media_policy = models.JSONField(default=dict, blank=True)
    # Set when a post first shows the video; until then it is one of its creator's drafts.
    posted_at = models.DateTimeField(null=True, blank=True)
    # The video's id on the remote server that rendered it (remote backend), so a remix of it
    # can use that server's own remix endpoint.
    remote_video_id = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return f"rendition of video {self.video_id}"


# --- Credits: an append-only ledger; balances are derived ---------------------------------


class CreditPool(models.TextChoices):
    FREE = "free", "Daily free allowance"
    PAID = "paid", "Bought credits"
    APP = "app", "An API key's daily budget"


class CreditEntryKind(models.TextChoices):
    PURCHASE = "purchase", "Bought"
    GRANT = "grant", "Granted by staff"
    RESERVE = "reserve", "Reserved for a job"
    SETTLE = "settle", "Job succeeded: reservation kept"
    REFUND = "refund", "Job did not succeed: reservation returned"


class CreditEntry(models.Model):
    """One movement of credits. Never updated or deleted.

    Paid balance = SUM(amount) over the paid pool. Free credits used on a local day =
    -SUM(amount) over the free pool for that `local_day` (the user's calendar day when the
    reservation was made), so the allowance resets at the user's local midnight.
    Each job reserves, then settles or refunds, exactly once per pool: the unique
    constraint makes a second charge or refund impossible even if a task runs twice.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="credit_entries")
    job = models.ForeignKey(
        GenerationJob, null=True, blank=True, on_delete=models.PROTECT, related_name="credit_entries"
    )
    pool = models.CharField(max_length=8, choices=CreditPool.choices)
    # Pool `app` only: the key whose daily budget this entry spends or returns.
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=CreditEntryKind.choices)
    amount = models.IntegerField()
    local_day = models.DateField()
    reference = models.CharField(max_length=120, blank=True, default="")  # e.g. a payment receipt id
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "kind", "pool"], condition=Q(job__isnull=False), name="credit_once_per_job_kind_pool"
            ),
            models.UniqueConstraint(
                fields=["reference"], condition=Q(kind="purchase") & ~Q(reference=""), name="credit_purchase_once"
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["purchase", "grant", "refund"]) & Q(amount__gt=0))
                | (Q(kind="reserve") & Q(amount__lt=0))
                | (Q(kind="settle") & Q(amount=0)),
                name="credit_amount_sign",
            ),
            models.CheckConstraint(
                condition=Q(job__isnull=False) | Q(kind__in=["purchase", "grant"]), name="credit_job_entries_have_job"
            ),
            models.CheckConstraint(
                condition=Q(pool="app", api_key__isnull=False) | (~Q(pool="app") & Q(api_key__isnull=True)),
                name="credit_app_pool_has_key",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "pool", "local_day"], name="credit_user_day_idx"),
            models.Index(fields=["api_key", "local_day"], name="credit_key_day_idx"),
            models.Index(fields=["user", "-created_at", "-id"], name="credit_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} ({self.pool}) for {self.user_id}"


# --- Recognising our own media: perceptual hashes of every video's frames ----------------------


class VideoFrameHash(models.Model):
    """A perceptual hash of one sampled frame (or the thumbnail) of a video; see generation/frame_hash.py.

    `luma` is the 64-bit look-up hash, cut into four 16-bit `band*` columns, each indexed, so
    finding the frames near a query hash is an index query (multi-index hashing); `chroma` adds
    32 bits for each colour channel, compared only on the candidates found.
    """

    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="frame_hashes")
    position = models.PositiveIntegerField()  # order among the video's sampled frames
    at_s = models.FloatField(null=True, blank=True)  # time in the video; null for the thumbnail
    luma = models.BigIntegerField()  # unsigned 64 bits stored as PostgreSQL's signed bigint
    chroma = models.BigIntegerField()
    band0 = models.IntegerField()
    band1 = models.IntegerField()
    band2 = models.IntegerField()
    band3 = models.IntegerField()
    version = models.PositiveSmallIntegerField(default=1)  # the hash recipe; a new one re-indexes

    class Meta:
        constraints = [models.UniqueConstraint(fields=["video", "position"], name="frame_hash_video_position")]
        indexes = [models.Index(fields=[f"band{i}"], name=f"frame_hash_band{i}_idx") for i in range(4)]

    def __str__(self) -> str:
        return f"frame {self.position} of video {self.video_id}"
