"""Web pages of the pathology app."""

from django.urls import path

from registry.pathology import views

app_name = "pathology"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("claim-next/", views.claim_next, name="claim_next"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/history/", views.case_history, name="history"),
    path("cases/<int:pk>/claim/", views.claim, name="claim"),
    path("cases/<int:pk>/release/", views.release, name="release"),
    path("cases/<int:pk>/assign/", views.assign, name="assign"),
    path("cases/<int:pk>/priority/", views.set_priority, name="priority"),
    path("cases/<int:pk>/review/", views.review_submit, name="review"),
    path("cases/<int:pk>/adjudicate/", views.adjudicate, name="adjudicate"),
    path("material/", views.material, name="material"),
    path("material/specimens/<int:specimen_pk>/ship/", views.shipment_create, name="shipment_create"),
    path("material/shipments/<int:pk>/receive/", views.shipment_receive, name="shipment_receive"),
    path("material/shipments/<int:pk>/return-blocks/", views.shipment_return_blocks, name="shipment_return_blocks"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("agreement/", views.agreement, name="agreement"),
]
