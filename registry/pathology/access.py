"""Who may do what in central review, and when a reviewer is blinded. Object access goes through
registry/sites/scoping.py; this module only names the role sets and the blinding rule."""

from __future__ import annotations

from collections.abc import Iterable

from registry.sites.models import Role
from registry.sites.scoping import CASEBOOK_READERS, DATA_ENTRY, roles_of

#: Roles that work the review queue (data managers oversee it; only pathologists read cases).
QUEUE_ROLES = frozenset({Role.CENTRAL_PATHOLOGIST, Role.DATA_MANAGER})
REVIEWERS = frozenset({Role.CENTRAL_PATHOLOGIST})
#: Receive material, return blocks, set priority, assign, record adjudication.
COORDINATION = frozenset({Role.CENTRAL_PATHOLOGIST, Role.DATA_MANAGER})
#: Site staff who send material and read their site's notices.
SITE_READERS = CASEBOOK_READERS
SITE_SENDERS = DATA_ENTRY
AGREEMENT_READERS = frozenset({Role.DATA_MANAGER})

#: Statuses from which no blinded read is pending any more, so nobody needs to be blinded.
UNBLINDED_STATUSES = frozenset({"adjudication", "final"})


def holds_reviewer_role(user, roles: Iterable[str] | None = None) -> bool:
    """Whether the user is a central pathologist (pass `roles_of(user)` when already known)."""
    roles = roles_of(user) if roles is None else roles
    return Role.CENTRAL_PATHOLOGIST in set(roles)


def is_blinded(*, status: str, is_reviewer: bool, has_submitted: bool) -> bool:
    """A central pathologist is blinded to the local read and the other reads of a case until they submit
    their own read (or the case reaches adjudication, where the reads are compared openly)."""
    if not is_reviewer or status in UNBLINDED_STATUSES:
        return False
    return not has_submitted
