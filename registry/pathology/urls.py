"""Web pages of the pathology app."""

from django.urls import path  # noqa: F401

app_name = "pathology"
urlpatterns: list = []
