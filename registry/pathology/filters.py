"""Queue filters shared by the page and the API. Deliberately nothing on local pathology fields: a reviewer
must not learn the local diagnosis or Ki-67 by filtering or ordering on them (blinding side channel)."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.utils import timezone

from registry.pathology.models import CaseStatus, Priority, ReviewCase
from registry.pathology.selectors import overdue_days


class CaseFilter(django_filters.FilterSet):
    # A column of the case itself: no to-many join, so no DISTINCT (django-filter's default), which made
    # PostgreSQL sort every matching row, all columns wide, for the page and again for its count.
    status = django_filters.MultipleChoiceFilter(choices=CaseStatus.choices, distinct=False)
    site = django_filters.CharFilter(field_name="patient__site__code", lookup_expr="iexact", label="Site code")
    priority = django_filters.TypedChoiceFilter(choices=Priority.choices, coerce=int)
    assigned = django_filters.ChoiceFilter(
        choices=[("me", "Assigned to me"), ("unassigned", "Unassigned")], method="filter_assigned", label="Assigned")
    min_age_days = django_filters.NumberFilter(method="filter_min_age", label="Open for at least (days)",
                                               min_value=0)
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue")
    ordering = django_filters.OrderingFilter(
        fields=(("priority", "priority"), ("opened_at", "opened"), ("material_received_at", "received"),
                ("status", "status"), ("patient__study_id", "study_id")),
    )

    class Meta:
        model = ReviewCase
        fields: list[str] = []

    def filter_assigned(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assigned_to_id=getattr(self.request.user, "pk", None))
        if value == "unassigned":
            return queryset.filter(assigned_to__isnull=True)
        return queryset

    def filter_min_age(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(opened_at__lte=timezone.now() - timedelta(days=int(value)))

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        limit = timezone.now() - timedelta(days=overdue_days())
        late = queryset.exclude(status=CaseStatus.FINAL).filter(material_received_at__lt=limit)
        return late if value else queryset.exclude(pk__in=late.values("pk"))
