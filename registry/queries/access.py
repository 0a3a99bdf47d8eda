"""Who may do what with queries, verifications, locks and signatures (object access is always scoped to
the object's site through registry/sites/scoping.py)."""

from __future__ import annotations

from registry.sites.models import Role
from registry.sites.scoping import CASEBOOK_READERS, DATA_ENTRY

#: Everyone who reads a site's casebooks reads its queries.
QUERY_READERS = CASEBOOK_READERS
#: Raise manual queries, close and reopen any query (REDCap DRW "open, close and respond" level).
QUERY_MANAGERS = frozenset({Role.MONITOR, Role.DATA_MANAGER})
#: Answer queries and correct the data (the site).
QUERY_ANSWERERS = DATA_ENTRY
#: Field- and form-level source data verification.
SDV_ROLES = frozenset({Role.MONITOR})
#: Lock and unlock patients, freeze and unfreeze sites.
LOCK_ROLES = frozenset({Role.DATA_MANAGER})
#: Sign a patient's casebook.
SIGNER_ROLES = frozenset({Role.SITE_INVESTIGATOR})
#: Data-quality dashboard.
DASHBOARD_READERS = frozenset({Role.MONITOR, Role.DATA_MANAGER})
