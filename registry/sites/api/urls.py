from django.urls import path

from registry.sites.api import views

urlpatterns = [
    path("sites/", views.SiteList.as_view(), name="api-site-list"),
    path("sites/<int:pk>/", views.SiteDetail.as_view(), name="api-site-detail"),
    path("me/memberships/", views.MyMemberships.as_view(), name="api-my-memberships"),
]
