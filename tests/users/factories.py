from datetime import date

import factory
from django.utils import timezone

from sora_social.users.models import Block, Follow, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    handle = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.LazyAttribute(lambda o: o.handle.title())
    date_of_birth = date(1995, 5, 17)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MinorFactory(UserFactory):
    date_of_birth = factory.LazyFunction(lambda: date(timezone.now().year - 15, 1, 1))


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class BlockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Block

    blocker = factory.SubFactory(UserFactory)
    blocked = factory.SubFactory(UserFactory)


def make_friends(a: User, b: User) -> None:
    Follow.objects.get_or_create(follower=a, followee=b)
    Follow.objects.get_or_create(follower=b, followee=a)
