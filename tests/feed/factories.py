"""Posts, comments and the rest, made through the feed services so lineage and counters hold."""

from __future__ import annotations

import factory

from feed import services
from feed.models import Comment, Post, RemixPermission, Visibility
from tests.generation.factories import VideoFactory
from tests.users.factories import UserFactory


class PostFactory(factory.django.DjangoModelFactory):
    """`PostFactory(remix_of=parent)` makes a remix through `post_create`, like the API does."""

    class Meta:
        model = Post

    author = factory.SubFactory(UserFactory)
    video = factory.LazyAttribute(lambda o: VideoFactory(created_by=o.author))
    caption = factory.Sequence(lambda n: f"post number {n}")
    visibility = Visibility.PUBLIC
    remix_permission = RemixPermission.ANYONE
    remix_of = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Post:
        cameos = kwargs.pop("cameos", ())
        return services.post_create(cameos=cameos, **kwargs)


class CommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Comment

    post = factory.SubFactory(PostFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"comment number {n}")
    reply_to = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> Comment:
        reply_to = kwargs.pop("reply_to")
        return services.comment_create(
            post_id=kwargs.pop("post").pk, reply_to_id=reply_to.pk if reply_to else None, **kwargs
        )


def remix_chain(length: int, **kwargs) -> list[Post]:
    """A straight chain: root, a remix of it, a remix of that, … `length` posts in all."""
    posts = [PostFactory(**kwargs)]
    for _ in range(length - 1):
        posts.append(PostFactory(remix_of=posts[-1], **kwargs))
    return posts
