"""Thin API views: parse, call one service or selector, render (DESIGN.md §3.2)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.core.errors import NotFound, PermissionDenied, ValidationFailed
from registry.crfs.models import LocalPathology
from registry.pathology import selectors, services
from registry.pathology.access import AGREEMENT_READERS, SITE_SENDERS, UNBLINDED_STATUSES, holds_reviewer_role
from registry.pathology.agreement import agreement_report
from registry.pathology.api import serializers as s
from registry.pathology.filters import CaseFilter
from registry.pathology.models import CentralReview
from registry.sites.models import Role
from registry.sites.scoping import has_role, scope_queryset

_Detail = inline_serializer("PathologyCaseDetail", fields={"id": serializers.IntegerField()})


def _detail(request, case, *, fresh: bool = False) -> Response:
    """The case as the caller may see it (re-read after a write, so status and blinding are current)."""
    if not fresh:
        case = selectors.case_get_for_user(request.user, case.pk)
    return Response(s.case_detail_data(selectors.case_view(request.user, case)))


class CaseList(generics.ListAPIView):
    """The review queue (no local values and no reads in any row; filters never touch local fields)."""

    serializer_class = s.CaseListOutput
    filterset_class = CaseFilter

    def get_queryset(self):
        return selectors.case_list_for_user(self.request.user).order_by("-priority", "material_received_at",
                                                                        "opened_at", "pk")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = selectors.queue_rows(page, request.user)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class CaseDetail(APIView):
    @extend_schema(responses=_Detail)
    def get(self, request, pk):
        return _detail(request, selectors.case_get_for_user(request.user, pk), fresh=True)


class CaseHistory(APIView):
    """The audit trail of one case, with the same blinding as the case itself."""

    @extend_schema(responses=s.HistoryOutput(many=True))
    def get(self, request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        entries = selectors.case_history(request.user, case, blinded=selectors.blinded_for(request.user, case))
        return Response(s.HistoryOutput(entries, many=True).data)


class CaseClaim(APIView):
    @extend_schema(request=None, responses=_Detail)
    def post(self, request, pk):
        case = services.case_claim(case=selectors.case_get_for_user(request.user, pk), user=request.user)
        return _detail(request, case)


class CaseClaimNext(APIView):
    @extend_schema(request=None, responses={200: _Detail, 204: None})
    def post(self, request):
        case = services.case_claim_next(user=request.user)
        if case is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return _detail(request, case)


class CaseRelease(APIView):
    @extend_schema(request=None, responses=_Detail)
    def post(self, request, pk):
        case = services.case_release(case=selectors.case_get_for_user(request.user, pk), user=request.user)
        return _detail(request, case)


class CaseAssign(APIView):
    @extend_schema(request=s.AssignInput, responses=_Detail)
    def post(self, request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        data = s.AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        reviewer = get_user_model().objects.filter(pk=data.validated_data["reviewer"]).first()
        if reviewer is None:
            raise ValidationFailed("Cases can be assigned to central pathologists only.", field="reviewer",
                                   rule="reviewer_role")
        return _detail(request, services.case_assign(case=case, reviewer=reviewer, user=request.user))


class CasePriority(APIView):
    @extend_schema(request=s.PriorityInput, responses=_Detail)
    def post(self, request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        data = s.PriorityInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _detail(request, services.case_set_priority(case=case, priority=data.validated_data["priority"],
                                                           user=request.user))


class CaseReviewSubmit(APIView):
    """Submit the caller's blinded read (the response reveals the local read once submitted)."""

    @extend_schema(request=s.ReviewInput, responses={201: _Detail})
    def post(self, request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        data = s.ReviewInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_submit(case=case, user=request.user, data=data.validated_data)
        response = _detail(request, case)
        response.status_code = status.HTTP_201_CREATED
        return response


class CaseAdjudicate(APIView):
    @extend_schema(request=s.AdjudicationInput, responses={201: _Detail})
    def post(self, request, pk):
        case = selectors.case_get_for_user(request.user, pk)
        data = s.AdjudicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        ids = set(values.pop("participants"))
        participants = list(get_user_model().objects.filter(pk__in=ids, is_active=True))
        if len(participants) != len(ids):
            raise ValidationFailed("Unknown participant.", field="participants", rule="participants")
        services.adjudication_record(case=case, user=request.user, participants=participants,
                                     final_ki67=values.pop("final_ki67", None), **values)
        response = _detail(request, case)
        response.status_code = status.HTTP_201_CREATED
        return response


class ReviewList(generics.ListAPIView):
    """Reads the caller may see: their own, and others' only where they are no longer blinded."""

    serializer_class = s.ReviewOutput

    def get_queryset(self):
        user = self.request.user
        reviews = scope_queryset(CentralReview.objects.all(), user, site_field="case__patient__site",
                                 roles={Role.CENTRAL_PATHOLOGIST, Role.DATA_MANAGER})
        if holds_reviewer_role(user):
            mine = CentralReview.objects.filter(case=OuterRef("case"), reviewer_id=user.pk)
            reviews = reviews.filter(Q(Exists(mine)) | Q(case__status__in=list(UNBLINDED_STATUSES)))
        return reviews.select_related("reviewer").order_by("case_id", "read_number")


class ShipmentListCreate(generics.ListAPIView):
    serializer_class = s.ShipmentOutput
    filterset_fields = ["specimen", "received_on", "blocks_returned_on"]

    def get_queryset(self):
        return selectors.shipment_list_for_user(self.request.user).order_by("-shipped_on", "-pk")

    @extend_schema(request=s.ShipmentInput, responses={201: s.ShipmentOutput})
    def post(self, request):
        data = s.ShipmentInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        specimen = LocalPathology.objects.visible_to(request.user, roles=SITE_SENDERS).filter(
            pk=values.pop("specimen")).first()
        if specimen is None:
            raise NotFound("Specimen not found.")
        items: dict[str, int] = {}
        for item in values.pop("items"):
            items[item["material"]] = items.get(item["material"], 0) + item["quantity"]
        shipment = services.shipment_create(specimen=specimen, user=request.user, items=items, **values)
        shipment = selectors.shipment_get_for_user(request.user, shipment.pk)
        return Response(s.ShipmentOutput(shipment).data, status=status.HTTP_201_CREATED)


class ShipmentReceive(APIView):
    @extend_schema(request=s.ReceiveInput, responses=s.ShipmentOutput)
    def post(self, request, pk):
        shipment = selectors.shipment_get_for_user(request.user, pk)
        data = s.ReceiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.shipment_receive(shipment=shipment, user=request.user, **data.validated_data)
        return Response(s.ShipmentOutput(selectors.shipment_get_for_user(request.user, pk)).data)


class ShipmentReturnBlocks(APIView):
    @extend_schema(request=s.ReturnBlocksInput, responses=s.ShipmentOutput)
    def post(self, request, pk):
        shipment = selectors.shipment_get_for_user(request.user, pk)
        data = s.ReturnBlocksInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.shipment_return_blocks(shipment=shipment, user=request.user, **data.validated_data)
        return Response(s.ShipmentOutput(selectors.shipment_get_for_user(request.user, pk)).data)


class OutstandingList(APIView):
    """Per open case of the caller's sites: required material not yet sent, parcels in transit, blocks out."""

    @extend_schema(responses=s.OutstandingOutput(many=True))
    def get(self, request):
        return Response(s.OutstandingOutput(selectors.outstanding_for_user(request.user), many=True).data)


class NotificationList(generics.ListAPIView):
    serializer_class = s.NotificationOutput

    def get_queryset(self):
        return selectors.notification_list_for_user(self.request.user).order_by("-created_at", "-pk")


class NotificationRead(APIView):
    @extend_schema(request=None, responses=s.NotificationOutput)
    def post(self, request, pk):
        notification = selectors.notification_get_for_user(request.user, pk)
        services.notification_mark_read(notification=notification, user=request.user)
        return Response(s.NotificationOutput(selectors.notification_get_for_user(request.user, pk)).data)


class Agreement(APIView):
    """Local vs central and reviewer vs reviewer agreement (data managers)."""

    @extend_schema(responses=inline_serializer("PathologyAgreement", fields={"category": serializers.DictField()}))
    def get(self, request):
        if not has_role(request.user, AGREEMENT_READERS):
            raise PermissionDenied("Agreement statistics are for data managers.", rule="role")
        inputs = selectors.agreement_inputs(request.user)
        return Response(agreement_report(inputs.local_vs_central, inputs.ki67_pairs, inputs.reviewer_pairs,
                                         inputs.reviewer_ki67_pairs))



