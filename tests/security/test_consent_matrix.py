"""The consent attack suite (issue 15): every path by which a video showing someone's cameo can
be made, against every consent state, through the public API, as the attacker would.

Each cell builds its own world: the owner O with a cameo, the attacker X, O's friend F, and a
stranger S. Derivative paths first make X's (or F's) source videos while X is still allowed (a
mutual, audience mutuals), then the cell's consent state is applied, then X attacks. The worker's
side runs in-process through the same job transitions the Celery task calls (start, complete with
a rendered clip), so the submit-time and completion-time checks are both exercised; what the
renderer draws is not what consent is about.

Whatever the outcome, three things must hold at the end of every cell:
- every video made from a video showing the cameo (an oracle that walks the jobs' sources,
  independently of the code under test) is recorded as an appearance of it;
- the owner's appearance list shows every appearance;
- a refused cell produced no new video and no new appearance; an allowed one produced exactly
  the video, recorded, announced to the owner, and served to nobody else.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cameos import services as cameo_services
from cameos.models import Cameo, CameoAppearance, CameoAudience
from feed.models import Post
from feed.services import post_create
from generation import jobs
from generation.models import GenerationJob, JobStatus, Video, VideoSource
from generation.services import video_create_from_bytes
from sora_social.notifications.models import Notification
from sora_social.users import services as user_services
from sora_social.users.models import Follow, User
from tests.cameos.factories import CameoFactory, CharacterFactory
from tests.generation.factories import clip_bytes
from tests.security import consent_matrix as matrix
from tests.users.factories import MinorFactory, UserFactory, make_friends

pytestmark = pytest.mark.django_db

PROMPT = "dancing in the rain on a beach at sunset"
POLITICAL_PROMPT = "giving a speech at a campaign rally"
DERIVATIVE_PATHS = {"remix_post", "remix_post_chain", "openai_remix", "openai_edit", "openai_extend", "openai_chain"}
# Media of the owner's post coming back in: recognised by the matcher, not named by a job.
COPY_PATHS = {"upload", "input_reference"}


@cache
def _mp4() -> bytes:
    return clip_bytes(seconds=1.0, seed=11)


@cache
def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (160, 96), (40, 90, 160)).save(buffer, format="JPEG")
    return buffer.getvalue()


def render(job: GenerationJob, *, started: bool = False) -> GenerationJob:
    """The worker's side of one attempt: start (unless already started), then complete with a
    rendered clip, through the transitions `generation.pipeline.run` calls."""
    if not started:
        job = jobs.generation_job_start(job_id=job.pk, worker="attack-suite") or job
    job.refresh_from_db()
    media = jobs.RenderedMedia(
        mp4=_mp4(),
        thumbnail_jpeg=_jpeg(),
        spritesheet_jpeg=_jpeg(),
        backend="embedded",
        model="attack-suite",
        watermark_text="",
        c2pa_signed=False,
        c2pa_manifest_label="",
        media_policy={"decision": "allow"},
        media_blocked=False,
    )
    try:
        jobs.generation_job_complete(job_id=job.pk, attempt=job.attempts, media=media)
    except jobs.JobNotRunnable:
        pass  # cancelled while it rendered: the result is discarded, as the task does
    job.refresh_from_db()
    return job


@cache
def _shared_client() -> APIClient:
    # One test client for the whole suite: each new client builds Django's middleware chain
    # (WhiteNoise scans the static files) on its first request.
    return APIClient()


class Caller:
    """Requests as one user (their own bearer token) through the shared client."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def _client(self) -> APIClient:
        client = _shared_client()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.secret}")
        return client

    def get(self, *args, **kwargs):
        return self._client().get(*args, **kwargs)

    def post(self, *args, **kwargs):
        return self._client().post(*args, **kwargs)


@dataclass
class World:
    owner: User
    cameo: Cameo
    attacker: User
    friend: User
    stranger: User
    clients: dict[int, Caller] = field(default_factory=dict)
    sources: dict[str, object] = field(default_factory=dict)

    def api(self, user: User) -> Caller:
        if user.pk not in self.clients:
            from sora_social.users.services import token_issue

            _, secret = token_issue(user=user, name="attack-suite")
            self.clients[user.pk] = Caller(secret)
        return self.clients[user.pk]

    @property
    def mention(self) -> str:
        return f"@{self.cameo.name}" if self.cameo.kind == "character" else f"@{self.owner.handle}"


def make_world(path: str, state: str) -> World:
    minor = state.startswith("minor_owner")
    if path == "openai_character":
        cameo = CharacterFactory(audience=CameoAudience.MUTUALS, licence__fee_credits=0)
        owner = cameo.owner
        if minor:
            owner.date_of_birth = MinorFactory.build().date_of_birth
            owner.save(update_fields=["date_of_birth"])
    else:
        owner = MinorFactory() if minor else UserFactory()
        cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    world = World(owner=owner, cameo=cameo, attacker=UserFactory(), friend=UserFactory(), stranger=UserFactory())
    make_friends(owner, world.friend)
    make_friends(owner, world.attacker)  # allowed while the derivative paths make their sources
    return world


# --- the paths: prepare (while X is allowed) and attempt -----------------------------------------


def _generate(world: World, user: User, body: dict) -> GenerationJob:
    response = world.api(user).post("/api/v1/generations", body, format="json")
    assert response.status_code == 201, response.json()
    return render(GenerationJob.objects.get(public_id=response.json()["id"]))


def _openai(world: World, user: User, url: str, body: dict) -> GenerationJob:
    response = world.api(user).post(url, body, format="json")
    assert response.status_code == 200, response.json()
    return render(GenerationJob.objects.get(public_id=response.json()["id"]))


def _owner_post(world: World) -> Post:
    """O posts a video of themselves (an upload featuring their own cameo)."""
    video = video_create_from_bytes(user=world.owner, data=_mp4(), source=VideoSource.UPLOAD)
    return post_create(author=world.owner, video=video, cameos=[world.cameo])


def prepare(path: str, world: World) -> None:
    if path == "remix_post":
        world.sources["post"] = _owner_post(world)
    elif path in COPY_PATHS | {"character_from_copy"}:
        from generation.media_match import video_frames_index

        post = world.sources["post"] = _owner_post(world)
        # What the on-commit task does for every new video: hash its frames for recognition.
        video_frames_index(video=post.video)
        with post.video.file.open("rb") as video, post.video.thumbnail.open("rb") as thumbnail:
            world.sources["bytes"] = (video.read(), thumbnail.read())
    elif path == "remix_post_chain":
        parent = _owner_post(world)
        job = _generate(world, world.friend, {"prompt": PROMPT, "remix_of": parent.pk})
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        world.sources["post"] = post_create(author=world.friend, video=job.result_video)
    elif path in {"openai_remix", "openai_edit", "openai_extend", "openai_chain"}:
        job = _generate(world, world.attacker, {"prompt": PROMPT, "cameos": [str(world.cameo.pk)]})
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        if path == "openai_chain":
            job = _openai(world, world.attacker, f"/v1/videos/{job.public_id}/remix", {"prompt": PROMPT})
            assert job.status == JobStatus.SUCCEEDED, job.error_message
            job = _openai(
                world,
                world.attacker,
                "/v1/videos/extensions",
                {"prompt": PROMPT, "seconds": "4", "video": {"id": job.public_id}},
            )
            assert job.status == JobStatus.SUCCEEDED, job.error_message
        world.sources["job"] = job


def attempt(path: str, world: World, prompt: str):
    """X's request. Returns the response (a refusal, or the queued job's representation)."""
    api = world.api(world.attacker)
    if path == "rest_named":
        return api.post("/api/v1/generations", {"prompt": prompt, "cameos": [str(world.cameo.pk)]}, format="json")
    if path in {"openai_create", "openai_character"}:
        return api.post("/v1/videos", {"prompt": f"{world.mention} {prompt}"}, format="json")
    if path == "upload":
        copy = SimpleUploadedFile("downloaded.mp4", world.sources["bytes"][0], content_type="video/mp4")
        return api.post("/api/v1/videos", {"file": copy}, format="multipart")
    if path == "character_from_copy":
        clip = SimpleUploadedFile("downloaded.mp4", world.sources["bytes"][0], content_type="video/mp4")
        return api.post("/v1/videos/characters", {"name": "my mascot", "video": clip}, format="multipart")
    if path == "input_reference":
        still = SimpleUploadedFile("thumbnail.jpg", world.sources["bytes"][1], content_type="image/jpeg")
        return api.post(
            "/v1/videos", {"prompt": prompt, "input_reference": still, "size": "720x1280"}, format="multipart"
        )
    if path in {"remix_post", "remix_post_chain"}:
        return api.post("/api/v1/generations", {"prompt": prompt, "remix_of": world.sources["post"].pk}, format="json")
    source = world.sources["job"].public_id
    if path == "openai_remix":
        return api.post(f"/v1/videos/{source}/remix", {"prompt": prompt}, format="json")
    if path == "openai_extend":
        return api.post(
            "/v1/videos/extensions", {"prompt": prompt, "seconds": "4", "video": {"id": source}}, format="json"
        )
    # openai_edit and the chain's last step
    return api.post("/v1/videos/edits", {"prompt": prompt, "video": {"id": source}}, format="json")


# --- the states ----------------------------------------------------------------------------------


def _unfriend(world: World) -> None:
    Follow.objects.filter(follower=world.attacker, followee=world.owner).delete()
    Follow.objects.filter(follower=world.owner, followee=world.attacker).delete()


def _set(world: World, **changes) -> None:
    cameo_services.cameo_update(cameo=world.cameo, actor=world.owner, **changes)
    world.cameo.refresh_from_db()


def apply_state(state: str, world: World) -> str:
    """Put consent in the cell's state (before X's attempt). Returns the prompt X uses."""
    _unfriend(world)
    everyone = CameoAudience.EVERYONE
    if state == "only_me":
        _set(world, audience=CameoAudience.ONLY_ME)
    elif state == "approval_required":
        _set(world, audience=CameoAudience.APPROVED)
    elif state == "approved":
        _set(world, audience=CameoAudience.APPROVED)
        cameo_services.cameo_access_set(cameo=world.cameo, actor=world.owner, user=world.attacker, effect="allow")
    elif state in {"mutuals", "minor_owner_mutual"}:
        make_friends(world.owner, world.attacker)
    elif state == "not_mutuals":
        user_services.follow_create(follower=world.attacker, followee=world.owner)
    elif state == "deny_listed":
        _set(world, audience=everyone)
        cameo_services.cameo_access_set(cameo=world.cameo, actor=world.owner, user=world.attacker, effect="deny")
    elif state == "blocked":
        _set(world, audience=everyone)
        user_services.block_create(blocker=world.owner, blocked=world.attacker)
    elif state == "revoked_before_submit":
        _set(world, audience=everyone)
        cameo_services.cameo_revoke(cameo=world.cameo, actor=world.owner)
    elif state == "restriction_violated":
        _set(world, audience=everyone, restrictions=["no_political"])
        return POLITICAL_PROMPT
    elif state == "restriction_added_while_queued":
        _set(world, audience=everyone)
        return POLITICAL_PROMPT
    else:  # everyone, minor_owner, and the "while queued/running" states start from everyone
        _set(world, audience=everyone)
    return PROMPT


def while_in_flight(state: str, world: World, job: GenerationJob) -> GenerationJob:
    """What happens between X's submit and the render's end; returns the finished job."""
    if state == "revoked_while_queued":
        cameo_services.cameo_revoke(cameo=world.cameo, actor=world.owner)
        job.refresh_from_db()
        return job if job.is_final else render(job)
    if state == "restriction_added_while_queued":
        _set(world, restrictions=["no_political"])
        return render(job)
    if state in {"revoked_while_running", "blocked_while_running"}:
        jobs.generation_job_start(job_id=job.pk, worker="attack-suite")
        if state == "revoked_while_running":
            cameo_services.cameo_revoke(cameo=world.cameo, actor=world.owner)
        else:
            user_services.block_create(blocker=world.owner, blocked=world.attacker)
        job.refresh_from_db()
        return job if job.is_final else render(job, started=True)
    return render(job)


# --- the oracle ------------------------------------------------------------------------------------


def videos_showing(cameo: Cameo, copies: set[tuple[int, int]] = frozenset()) -> set[int]:
    """Which videos show the cameo, worked out from how each was made (not from the lineage
    records under test): named in its job or featured in a post, or made from such a video
    (remix, edit, extension; `copies`: (video, source) pairs the test itself made, a re-upload or
    a job from a still of the source), to any depth."""
    showing = set(
        GenerationJob.objects.filter(job_cameos__cameo=cameo, job_cameos__inherited=False, result_video__isnull=False)
        .values_list("result_video_id", flat=True)
        .distinct()
    )
    showing |= set(Post.objects.filter(cameos=cameo).values_list("video_id", flat=True))
    made_from = list(
        GenerationJob.objects.filter(result_video__isnull=False, source_video__isnull=False).values_list(
            "result_video_id", "source_video_id"
        )
    )
    made_from += list(copies)
    grew = True
    while grew:
        grew = False
        for video_id, source_id in made_from:
            if source_id in showing and video_id not in showing:
                showing.add(video_id)
                grew = True
    return showing


def assert_every_video_with_the_cameo_is_recorded(world: World, copies: set[tuple[int, int]]) -> None:
    recorded = set(CameoAppearance.objects.filter(cameo=world.cameo).values_list("video_id", flat=True))
    missing = videos_showing(world.cameo, copies) - recorded
    assert not missing, f"videos showing the cameo with no appearance: {missing}"
    listed = world.api(world.owner).get(f"/api/v1/cameos/{world.cameo.pk}/appearances")
    assert listed.status_code == 200, listed.json()
    assert {row["video_id"] for row in listed.json()["results"]} == recorded


# --- the matrix --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "state", "outcome"), matrix.cases(), ids=[f"{p}-{s}" for p, s, _ in matrix.cases()])
def test_consent_matrix(path: str, state: str, outcome: str) -> None:
    world = make_world(path, state)
    prepare(path, world)
    prompt = apply_state(state, world)
    videos_before = set(Video.objects.values_list("pk", flat=True))
    appearances_before = set(CameoAppearance.objects.filter(cameo=world.cameo).values_list("pk", flat=True))

    response = attempt(path, world, prompt)
    body = response.json()
    job = None
    made = None  # the video X got
    if response.status_code in (200, 201) and path == "upload":
        made, got = body["id"], matrix.ALLOWED
    elif response.status_code in (200, 201) and path == "character_from_copy":
        got = "a cameo was made of the copy"
    elif response.status_code in (200, 201):
        job = while_in_flight(state, world, GenerationJob.objects.get(public_id=body["id"]))
        got = matrix.ALLOWED if job.status == JobStatus.SUCCEEDED else job.error_code
        made = job.result_video_id
    else:
        assert 400 <= response.status_code < 500, (response.status_code, body)
        got = body["error"]["code"]
    assert got == outcome, (response.status_code, body, job and (job.status, job.error_message))

    new_videos = set(Video.objects.values_list("pk", flat=True)) - videos_before
    new_appearances = CameoAppearance.objects.filter(cameo=world.cameo).exclude(pk__in=appearances_before)
    copies: set[tuple[int, int]] = set()
    # Whatever happened, the attacker got no cameo of their own out of it.
    assert not Cameo.objects.filter(owner=world.attacker).exists()
    if outcome != matrix.ALLOWED:
        assert not new_videos, "a refused attempt left a video behind"
        assert not new_appearances.exists()
    else:
        assert new_videos == {made}
        if path in COPY_PATHS:
            copies.add((made, world.sources["post"].video_id))
        appearance = new_appearances.get()
        assert (appearance.video_id, appearance.creator_id, appearance.status) == (
            made,
            world.attacker.pk,
            CameoAppearance.Status.ACTIVE,
        )
        if path in DERIVATIVE_PATHS | COPY_PATHS:
            source = world.sources["post"].video_id if path in COPY_PATHS else job.source_video_id
            assert appearance.via_video_id == source
        if job is not None and path in DERIVATIVE_PATHS | COPY_PATHS:
            shown = world.api(world.attacker).get(f"/api/v1/generations/{job.public_id}").json()["cameos"]
            assert [(c["id"], c["inherited"]) for c in shown] == [(world.cameo.pk, True)]
        assert Notification.objects.filter(recipient=world.owner, kind="cameo_used", data__video_id=made).exists()
        # The draft is the attacker's alone: nobody else is served it.
        for other in (world.stranger, world.friend):
            assert world.api(other).get(f"/api/v1/videos/{made}/content").status_code == 404
        # Posted, it features the cameo, so cameo feeds and the owner's controls apply to it.
        posted = world.api(world.attacker).post(
            "/api/v1/posts", {"video_id": made, "visibility": "private"}, format="json"
        )
        assert posted.status_code == 201, posted.json()
        assert list(Post.objects.get(pk=posted.json()["id"]).cameos.values_list("pk", flat=True)) == [world.cameo.pk]
    assert_every_video_with_the_cameo_is_recorded(world, copies)


def test_the_doc_shows_the_tested_matrix() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "cameos.md").read_text()
    start = doc.index(matrix.START) + len(matrix.START)
    end = doc.index(matrix.END)
    assert doc[start:end].strip() == matrix.render_markdown().strip()
