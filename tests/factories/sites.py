import factory
from django.contrib.auth import get_user_model

from registry.sites.models import Country, Role, Site, SiteMembership

PASSWORD = "correct-horse-battery-9"  # noqa: S105 - test fixture


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")
    country = Country.NORWAY


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SiteMembership

    user = factory.SubFactory(UserFactory)
    site = factory.SubFactory(SiteFactory)
    role = Role.SITE_COORDINATOR


def member(role: str, site: Site | None, username: str | None = None):
    """A user holding `role` at `site` (site None = study-wide)."""
    user = UserFactory(**({"username": username} if username else {}))
    MembershipFactory(user=user, site=site, role=role)
    return user
