"""The Celery app. Reliability settings live here, in one place (DESIGN.md §3.5, research/reliability.md §4.3).

At-least-once delivery: acks_late + reject_on_worker_lost + prefetch 1, so a killed worker's task is
redelivered; tasks are therefore idempotent and every job has a database row as its source of truth.
With no CELERY_BROKER_URL, kombu's filesystem transport in `.data/broker` is the broker (settings.py):
real worker and beat processes, no server, never eager mode.
"""

from __future__ import annotations

import os

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")


class AuditedTask(Task):
    """Every task's database writes carry the task name and id in the audit trail's context."""

    def __call__(self, *args, **kwargs):
        import pghistory

        with pghistory.context(task=self.name, task_id=self.request.id):
            return super().__call__(*args, **kwargs)


app = Celery("registry", task_cls=AuditedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=True,
    task_time_limit=60 * 60,
    task_soft_time_limit=55 * 60,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
)
app.autodiscover_tasks()
