"""Periodic tasks in django-celery-beat's tables (editable in the admin): the recompute check every 10 minutes
and the sweeper every 5 minutes. Get-or-create, so an interval changed in the admin is kept."""

from django.db import migrations

TASKS = (
    ("analysis: recompute when data change", "analysis.tick", 10),
    ("analysis: re-dispatch stuck runs", "analysis.sweep", 5),
)


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, minutes in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval,
                                                                "enabled": True})
    # tell a running beat (DatabaseScheduler) that the schedule changed
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0002_seed_paper_definitions"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
