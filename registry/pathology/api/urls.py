"""REST API of the pathology app (mounted under /api/v1/pathology/)."""

from django.urls import path

from registry.pathology.api import views

urlpatterns = [
    path("cases/", views.CaseList.as_view(), name="api-pathology-case-list"),
    path("cases/claim-next/", views.CaseClaimNext.as_view(), name="api-pathology-case-claim-next"),
    path("cases/<int:pk>/", views.CaseDetail.as_view(), name="api-pathology-case-detail"),
    path("cases/<int:pk>/history/", views.CaseHistory.as_view(), name="api-pathology-case-history"),
    path("cases/<int:pk>/claim/", views.CaseClaim.as_view(), name="api-pathology-case-claim"),
    path("cases/<int:pk>/release/", views.CaseRelease.as_view(), name="api-pathology-case-release"),
    path("cases/<int:pk>/assign/", views.CaseAssign.as_view(), name="api-pathology-case-assign"),
    path("cases/<int:pk>/priority/", views.CasePriority.as_view(), name="api-pathology-case-priority"),
    path("cases/<int:pk>/reviews/", views.CaseReviewSubmit.as_view(), name="api-pathology-case-review"),
    path("cases/<int:pk>/adjudication/", views.CaseAdjudicate.as_view(), name="api-pathology-case-adjudication"),
    path("reviews/", views.ReviewList.as_view(), name="api-pathology-review-list"),
    path("shipments/", views.ShipmentListCreate.as_view(), name="api-pathology-shipment-list"),
    path("shipments/<int:pk>/receive/", views.ShipmentReceive.as_view(), name="api-pathology-shipment-receive"),
    path("shipments/<int:pk>/return-blocks/", views.ShipmentReturnBlocks.as_view(),
         name="api-pathology-shipment-return-blocks"),
    path("outstanding/", views.OutstandingList.as_view(), name="api-pathology-outstanding"),
    path("notifications/", views.NotificationList.as_view(), name="api-pathology-notification-list"),
    path("notifications/<int:pk>/read/", views.NotificationRead.as_view(), name="api-pathology-notification-read"),
    path("agreement/", views.Agreement.as_view(), name="api-pathology-agreement"),
]
