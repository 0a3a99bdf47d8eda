"""Audit events for Django's own User model (role and account changes are part of the trail).

Triggers on a third-party model go on a proxy model in our app, so the migration that installs them is
ours (pgtrigger's documented pattern), not a migration inside django.contrib.auth. Every registry model
is tracked where it is defined, with `registry.audit.tracking.audited`.
"""

import pghistory
from django.contrib.auth.models import User


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["password", "last_login"],
    model_name="UserEvent",
)
class TrackedUser(User):
    class Meta:
        proxy = True
        verbose_name = "user (audited)"
