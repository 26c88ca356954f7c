"""Posting a generated draft: its cameos are featured and a remix job's post joins the chain."""

import pytest

from cameos.models import CameoAppearance, CameoAudience
from feed.models import Post
from generation.models import GenerationJob, GenerationJobCameo, JobKind, JobStatus, VideoRendition, VideoSource
from tests.cameos.factories import CameoFactory
from tests.feed.factories import PostFactory
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory, make_friends

pytestmark = pytest.mark.django_db


def finished_job(user, *, cameos=(), remix_parent=None, kind=JobKind.CREATE):
    video = VideoFactory(created_by=user, source=VideoSource.GENERATED)
    VideoRendition.objects.create(video=video)
    job = GenerationJob.objects.create(
        user=user,
        kind=kind,
        status=JobStatus.SUCCEEDED,
        prompt="a red ball drops",
        seed=1,
        seconds=4,
        width=160,
        height=96,
        backend="embedded",
        model="test",
        result_video=video,
        remix_parent_post_id=remix_parent.pk if remix_parent else None,
    )
    for i, cameo in enumerate(cameos):
        GenerationJobCameo.objects.create(job=job, cameo=cameo, position=i)
    return job


def test_a_drafts_cameos_are_featured_when_it_is_posted(client_for):
    owner, maker = UserFactory(), UserFactory()
    make_friends(owner, maker)
    cameo = CameoFactory(owner=owner, audience=CameoAudience.MUTUALS)
    job = finished_job(maker, cameos=[cameo])
    api = client_for(maker)

    assert [d["id"] for d in api.get("/api/v1/drafts").json()["results"]] == [job.public_id]
    response = api.post("/api/v1/posts", {"video_id": job.result_video_id, "caption": "us"}, format="json")
    assert response.status_code == 201, response.json()
    post = Post.objects.get(pk=response.json()["id"])
    assert list(post.cameos.values_list("pk", flat=True)) == [cameo.pk]
    assert CameoAppearance.objects.filter(cameo=cameo, video_id=job.result_video_id).exists()
    assert api.get("/api/v1/drafts").json()["results"] == []


def test_a_remix_jobs_post_is_a_remix_of_its_source_post(client_for):
    parent = PostFactory()
    remixer = UserFactory()
    job = finished_job(remixer, remix_parent=parent, kind=JobKind.REMIX)
    response = client_for(remixer).post("/api/v1/posts", {"video_id": job.result_video_id}, format="json")
    assert response.status_code == 201, response.json()
    post = Post.objects.get(pk=response.json()["id"])
    assert (post.remix_of_id, post.root_id, post.depth) == (parent.pk, parent.root_id, parent.depth + 1)
    parent.refresh_from_db()
    assert parent.remix_count == 1
