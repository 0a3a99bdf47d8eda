"""The one site-scoping mechanism: members see their sites, others and outsiders see nothing."""

import pytest

from registry.sites.models import Role, Site, SiteMembership
from registry.sites.scoping import CASEBOOK_READERS, has_role, scope_queryset, sites_visible_to
from tests.factories.sites import SiteFactory, UserFactory, member

pytestmark = pytest.mark.django_db


def test_user_without_membership_sees_no_site(site_a, site_b, outsider):
    assert list(sites_visible_to(outsider)) == []
    assert not has_role(outsider, Role.values)


def test_site_member_sees_only_own_site(site_a, site_b, coordinator_a):
    assert list(sites_visible_to(coordinator_a)) == [site_a]


def test_member_of_other_site_does_not_see_this_site(site_a, site_b, coordinator_b):
    assert site_a not in sites_visible_to(coordinator_b)
    assert not has_role(coordinator_b, [Role.SITE_COORDINATOR], site_a)
    assert has_role(coordinator_b, [Role.SITE_COORDINATOR], site_b)


def test_study_wide_role_sees_every_site(site_a, site_b, data_manager):
    assert set(sites_visible_to(data_manager)) == {site_a, site_b}
    assert has_role(data_manager, [Role.DATA_MANAGER], site_b)


def test_role_filter_excludes_memberships_of_other_roles(site_a, pathologist):
    assert list(sites_visible_to(pathologist, roles=CASEBOOK_READERS)) == []
    assert site_a in sites_visible_to(pathologist, roles=[Role.CENTRAL_PATHOLOGIST])


def test_inactive_and_anonymous_users_see_nothing(site_a, coordinator_a):
    from django.contrib.auth.models import AnonymousUser

    assert list(sites_visible_to(AnonymousUser())) == []
    coordinator_a.is_active = False
    coordinator_a.save()
    assert list(sites_visible_to(coordinator_a)) == []


def test_scoping_follows_a_lookup_path_in_one_query(site_a, site_b, coordinator_a, django_assert_num_queries):
    other = UserFactory()
    SiteMembership.objects.create(user=other, site=site_b, role=Role.SITE_COORDINATOR)
    memberships = scope_queryset(SiteMembership.objects.all(), coordinator_a, site_field="site")
    with django_assert_num_queries(1):
        seen = list(memberships)
    assert {m.site_id for m in seen} == {site_a.pk}


def test_site_roles_require_a_site_but_study_wide_roles_do_not(db):
    from django.db import IntegrityError, transaction

    user = UserFactory()
    member(Role.STATISTICIAN, None, "stat2")
    with pytest.raises(IntegrityError), transaction.atomic():
        SiteMembership.objects.create(user=user, site=None, role=Role.SITE_COORDINATOR)


def test_site_code_must_be_upper_case_alphanumeric(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(code="oslo-1", name="x", country="NO")
    assert SiteFactory(code="OUS2").code == "OUS2"
