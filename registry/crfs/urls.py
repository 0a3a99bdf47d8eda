"""Web pages of the crfs app."""

from django.urls import path  # noqa: F401

app_name = "crfs"
urlpatterns: list = []
