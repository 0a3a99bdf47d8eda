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
    # the hash is never copied into the trail, but that a password was set (by whom, when) is a security event
    pghistory.UpdateEvent("password_change", condition=pghistory.AnyChange("password")),
    pghistory.DeleteEvent(),
    exclude=["password", "last_login"],
    model_name="UserEvent",
)
class TrackedUser(User):
    class Meta:
        proxy = True
        verbose_name = "user (audited)"


# The analysis configuration a data manager edits (definitions and settings) decides what every published
# figure means, so it is part of the trail (ICH E6(R3) 4.2.2: release of trial-specific configuration).
# Tracked here, on proxies, so the analysis app's own models and migrations stay its own. Runs, results and
# figures are derived outputs: each run row freezes its inputs and is recomputable, and is not tracked.
from analysis.models import AnalysisDefinition, AnalysisSettings  # noqa: E402


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(),
                 model_name="AnalysisDefinitionEvent")
class TrackedAnalysisDefinition(AnalysisDefinition):
    class Meta:
        proxy = True
        verbose_name = "analysis definition (audited)"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(),
                 model_name="AnalysisSettingsEvent")
class TrackedAnalysisSettings(AnalysisSettings):
    class Meta:
        proxy = True
        verbose_name = "analysis settings (audited)"
