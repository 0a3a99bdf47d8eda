"""Audit events for Django's own User model (role and account changes are part of the trail).

Every registry model is tracked where it is defined, with `registry.audit.tracking.audited`.
"""

import pghistory
from django.contrib.auth import get_user_model

pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    exclude=["password", "last_login"],
    app_label="audit",
    model_name="UserEvent",
)(get_user_model())
