"""REST API of the queries app (mounted under /api/v1/queries/)."""

from django.urls import path

from registry.queries.api import views

urlpatterns = [
    path("", views.QueryList.as_view(), name="api-query-list"),
    path("<int:pk>/", views.QueryDetail.as_view(), name="api-query-detail"),
    path("<int:pk>/messages/", views.QueryMessages.as_view(), name="api-query-messages"),
    path("<int:pk>/answer/", views.QueryAnswer.as_view(), name="api-query-answer"),
    path("<int:pk>/close/", views.QueryClose.as_view(), name="api-query-close"),
    path("<int:pk>/reopen/", views.QueryReopen.as_view(), name="api-query-reopen"),
    path("worklist/", views.Worklist.as_view(), name="api-query-worklist"),
    path("dashboard/", views.Dashboard.as_view(), name="api-query-dashboard"),
    path("sdv/", views.VerificationList.as_view(), name="api-sdv-list"),
    path("sdv/<int:pk>/withdraw/", views.VerificationWithdraw.as_view(), name="api-sdv-withdraw"),
    path("sdv/forms/", views.FormVerify.as_view(), name="api-sdv-form"),
    path("freezes/", views.FreezeList.as_view(), name="api-freeze-list"),
    path("patients/<int:pk>/lock/", views.PatientLock.as_view(), name="api-patient-lock"),
    path("patients/<int:pk>/unlock/", views.PatientUnlock.as_view(), name="api-patient-unlock"),
    path("sites/<int:pk>/freeze/", views.SiteFreeze.as_view(), name="api-site-freeze"),
    path("sites/<int:pk>/unfreeze/", views.SiteUnfreeze.as_view(), name="api-site-unfreeze"),
    path("signatures/", views.SignatureList.as_view(), name="api-signature-list"),
]
