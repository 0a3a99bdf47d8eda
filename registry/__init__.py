"""NEN Registry: the Django project package (settings, urls, Celery app) and one app per capture concern."""

from registry.celery import app as celery_app

__all__ = ("celery_app",)
