"""Thin views of the feeds: for-you, following, friends, latest, a cameo's posts, steering
and feed preferences. Reads go through selectors, writes through services."""

from __future__ import annotations

import time
from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from feed import selectors as feed_selectors
from feed.models import Post
from feed.ranking import selectors, services
from feed.ranking.serializers import (
    ForYouPageOutputSerializer,
    PreferenceInputSerializer,
    PreferenceOutputSerializer,
    SteeringInputSerializer,
    SteeringOutputSerializer,
)
from feed.serializers import PostOutputSerializer, post_data, posts_data
from generation.selectors import ContentUrls
from sora_social.common.pagination import page_payload, page_serializer, page_size_from, query_bool
from sora_social.common.schema import PAGE_PARAMS

TAGS = ["feeds"]


class _Api(APIView):
    permission_classes = [IsAuthenticated]

    def dispatch(self, request, *args, **kwargs):
        # Server-Timing: wall time in the view and the CPU time this thread spent on it (the
        # benchmarks read both; on a shared machine the CPU time is the stable number).
        wall, cpu = time.perf_counter(), time.thread_time()
        self.stage_timings: dict[str, float] = {}  # filled by views that build in stages (for-you)
        response = super().dispatch(request, *args, **kwargs)
        stages = "".join(f", {name};dur={ms:.1f}" for name, ms in self.stage_timings.items())
        response["Server-Timing"] = (
            f"app;dur={(time.perf_counter() - wall) * 1000:.1f}, cpu;dur={(time.thread_time() - cpu) * 1000:.1f}"
            + stages
        )
        return response


def _posts_page(request: Request, posts: list[Post], next_cursor: str | None) -> Response:
    # The chronological feeds' pages carry their credits (read with the rows); the others
    # (latest, a cameo's posts) look them up.
    lineage = posts.lineage if isinstance(posts, selectors.PostPage) else None
    if lineage is None:
        lineage = feed_selectors.lineage_refs(viewer=request.user, posts=posts)
    results = posts_data(posts, viewer_id=request.user.pk, request=request, lineage=lineage)
    return Response(page_payload(request, results, next_cursor))


def _daily(limit: services.DailyLimit | None) -> dict[str, Any] | None:
    if limit is None:
        return None
    return {"limit": limit.limit, "used": limit.used, "remaining": limit.remaining, "resets_at": limit.resets_at}


class ForYouFeedApi(_Api):
    @extend_schema(
        parameters=[
            *PAGE_PARAMS,
            OpenApiParameter("explain", bool, description="1: each item's source and score parts (your own feed)."),
        ],
        responses=ForYouPageOutputSerializer,
        tags=TAGS,
        summary="For you: ranked for creating, friends first, with creation nudges",
        description=(
            "A scroll pages through a ranked list frozen when its first page was asked for, so no post "
            "repeats or is skipped while new ones arrive; posts you have seen stay out for a while. "
            "Minors have a daily limit: when it is used up the page is empty, `limit_reached` is true "
            "and `next_cursor` is null (no continuous scroll past it)."
        ),
    )
    def get(self, request: Request) -> Response:
        explain = query_bool(request, "explain")
        page = services.for_you_page(
            user=request.user,
            cursor=request.query_params.get("cursor"),
            limit=page_size_from(request),
            explain=explain,
        )
        self.stage_timings = page.timings
        serialize_started = time.perf_counter()
        urls = ContentUrls(request)
        results = []
        for it in page.items:
            if it["type"] == "post":
                results.append(
                    {
                        "type": "post",
                        "post": post_data(
                            it["post"], viewer_id=request.user.pk, request=request, lineage=page.lineage, urls=urls
                        ),
                        "source": it["source"],
                        "explain": it["explain"] if explain else None,
                        "propensity": it["propensity"],
                        "nudge": None,
                    }
                )
            else:
                results.append({**it, "explain": None})
        body = page_payload(request, results, page.next_cursor)
        body.update(
            limit_reached=page.limit_reached, daily_limit=_daily(page.daily_limit), personalized=page.personalized
        )
        page.timings["serialize"] = (time.perf_counter() - serialize_started) * 1000
        return Response(body)


class FollowingFeedApi(_Api):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(PostOutputSerializer),
        tags=TAGS,
        summary="Posts of people you follow (and yours), newest first",
    )
    def get(self, request: Request) -> Response:
        posts, next_cursor = selectors.chronological_page(
            user=request.user,
            cursor=request.query_params.get("cursor"),
            limit=page_size_from(request),
            friends_only=False,
        )
        return _posts_page(request, posts, next_cursor)


class FriendsFeedApi(_Api):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(PostOutputSerializer),
        tags=TAGS,
        summary="Posts of your friends (mutual follows), newest first",
    )
    def get(self, request: Request) -> Response:
        posts, next_cursor = selectors.chronological_page(
            user=request.user,
            cursor=request.query_params.get("cursor"),
            limit=page_size_from(request),
            friends_only=True,
        )
        return _posts_page(request, posts, next_cursor)


class LatestFeedApi(_Api):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(PostOutputSerializer),
        tags=TAGS,
        summary="The public firehose: every public post, newest first",
    )
    def get(self, request: Request) -> Response:
        posts, next_cursor = selectors.latest_page(
            user=request.user, cursor=request.query_params.get("cursor"), limit=page_size_from(request)
        )
        return _posts_page(request, posts, next_cursor)


class CameoPostsApi(_Api):
    @extend_schema(
        parameters=PAGE_PARAMS,
        responses=page_serializer(PostOutputSerializer),
        tags=TAGS,
        summary="A cameo's public appearances: posts featuring it that you may see, newest first",
    )
    def get(self, request: Request, cameo_id: int) -> Response:
        cameo = selectors.cameo_for_viewer(user=request.user, cameo_id=cameo_id)
        posts, next_cursor = selectors.cameo_posts_page(
            user=request.user, cameo=cameo, cursor=request.query_params.get("cursor"), limit=page_size_from(request)
        )
        return _posts_page(request, posts, next_cursor)


def _steering_body(row) -> dict[str, Any]:
    if row is None:
        return {"text": "", "terms": [], "applied": False, "updated_at": None}
    return {
        "text": row.text,
        "terms": [{"phrase": t["phrase"], "direction": t["direction"], "topic": t.get("topic")} for t in row.terms],
        "applied": row.vectors is not None,
        "updated_at": row.updated_at,
    }


class SteeringApi(_Api):
    @extend_schema(responses=SteeringOutputSerializer, tags=TAGS, summary="What you told your feed")
    def get(self, request: Request) -> Response:
        return Response(_steering_body(selectors.steering_of(request.user)))

    @extend_schema(
        request=SteeringInputSerializer,
        responses={
            200: SteeringOutputSerializer,
            422: OpenApiResponse(description="steering_empty, steering_not_understood"),
        },
        tags=TAGS,
        summary='Tell your feed in words what you want more or less of ("more anime, less sports")',
    )
    def put(self, request: Request) -> Response:
        data = SteeringInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.steering_set(user=request.user, text=data.validated_data["text"])
        return Response(_steering_body(row))

    @extend_schema(request=None, responses={204: None}, tags=TAGS, summary="Forget your steering")
    def delete(self, request: Request) -> Response:
        services.steering_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _preference_body(request: Request) -> dict[str, Any]:
    from django.utils import timezone

    row = selectors.feed_preference(request.user)
    return {
        "personalized": selectors.is_personalized(request.user, row),
        "is_minor": request.user.is_minor,
        "daily_limit": _daily(services.daily_limit_of(request.user, timezone.now())),
    }


class FeedPreferenceApi(_Api):
    @extend_schema(responses=PreferenceOutputSerializer, tags=TAGS, summary="Your feed options")
    def get(self, request: Request) -> Response:
        return Response(_preference_body(request))

    @extend_schema(
        request=PreferenceInputSerializer,
        responses=PreferenceOutputSerializer,
        tags=TAGS,
        summary="Turn personalisation of for-you off (or on)",
    )
    def put(self, request: Request) -> Response:
        data = PreferenceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.feed_preference_set(user=request.user, personalized=data.validated_data["personalized"])
        return Response(_preference_body(request))
