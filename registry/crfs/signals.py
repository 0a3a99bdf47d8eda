"""Domain events of the CRF workflow, for apps that depend on crfs (pathology, queries) to react to.

Sent by the services after the transaction commits (`transaction.on_commit`), never from `save()`, so
receivers see committed data and the one-way dependency `crfs ← {pathology, queries}` holds.
"""

from django.dispatch import Signal

#: sender=form model class; kwargs: form (the instance), user, family (catalogue code)
form_submitted = Signal()
#: sender=form model class; kwargs: form, user, family, changed_fields (list of field names)
form_changed = Signal()
