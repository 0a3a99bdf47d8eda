"""Periodic tasks in django-celery-beat's tables (editable in the admin): the nightly edit-check re-check at
02:00 UTC and the overdue follow-up sweep daily at 03:00 UTC. Get-or-create, so a schedule changed in the
admin is kept when migrations run again."""

from django.db import migrations

TASKS = (
    ("queries: nightly edit-check re-check", "queries.recheck_all", "0", "2"),
    ("queries: overdue follow-up", "queries.overdue_followup", "0", "3"),
)


def seed(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, minute, hour in TASKS:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab, "enabled": True})
    # tell a running beat (DatabaseScheduler) that the schedule changed
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, _, _, _ in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("queries", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
