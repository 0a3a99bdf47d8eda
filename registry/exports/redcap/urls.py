"""Mounted at /redcap/: REDCap clients require the endpoint URL to end in /api/."""

from django.urls import path

from registry.exports.redcap import views

urlpatterns = [path("api/", views.api, name="redcap-api")]
