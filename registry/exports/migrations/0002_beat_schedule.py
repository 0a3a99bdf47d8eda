"""The export sweeper in django-celery-beat's tables (editable in the admin): every 5 minutes it re-dispatches
jobs left queued (lost message) or running without a heartbeat (dead worker). Get-or-create, so an interval
changed in the admin is kept."""

from django.db import migrations

NAME = "exports: re-dispatch stuck export jobs"


def seed(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    interval, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": "exports.sweep", "interval": interval,
                                                            "enabled": True})
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
