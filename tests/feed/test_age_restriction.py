"""Age-restricted posts: adults and the author see them; minors and signed-out viewers do not."""

import pytest

from feed import selectors, services
from tests.feed.factories import PostFactory
from tests.users.factories import MinorFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_an_age_restricted_post_is_hidden_from_minors_and_anonymous_viewers(client_for, anon_client):
    author, adult, teen = UserFactory(), UserFactory(), MinorFactory()
    post = PostFactory(author=author)
    services.post_set_age_restricted(post=post, restricted=True, reason="graphic")

    assert selectors.post_is_visible(viewer=adult, post=post)
    assert selectors.post_is_visible(viewer=author, post=post)
    assert not selectors.post_is_visible(viewer=teen, post=post)
    assert not selectors.post_is_visible(viewer=None, post=post)
    assert selectors.visible_post_ids(viewer=teen, post_ids=[post.pk]) == set()
    assert client_for(teen).get(f"/api/v1/posts/{post.pk}").status_code == 404
    assert client_for(adult).get(f"/api/v1/posts/{post.pk}").status_code == 200

    services.post_set_age_restricted(post=post, restricted=False)
    assert selectors.post_is_visible(viewer=teen, post=post)


def test_unknown_age_counts_as_minor():
    post = PostFactory()
    services.post_set_age_restricted(post=post, restricted=True)
    assert not selectors.post_is_visible(viewer=UserFactory(date_of_birth=None), post=post)
