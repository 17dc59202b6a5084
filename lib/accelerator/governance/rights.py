"""People's rights (custodianship.md), one module per right; this module names them in one place.

- :mod:`accelerator.governance.subject`: who a request is about (ids, records, identifiers);
- :mod:`accelerator.governance.matching`: their rows, lines and files, found by joins and on the driver;
- :mod:`accelerator.governance.landing`: the landing zone's share of erasure and retention;
- :mod:`accelerator.governance.access`: subject access, answered by one authority;
- :mod:`accelerator.governance.erasure`: erasure of many people in one pass, resumable;
- :mod:`accelerator.governance.restriction`: restriction of processing (gold hides the person);
- :mod:`accelerator.governance.history`: the history purge shared by erasure and retention;
- :mod:`accelerator.governance.audit`: the audit table, a hash chain.

Governance stands beside the layers: nothing here imports a stage. Gold is rebuilt through a
``rebuild_gold`` the caller passes (the CLI passes the pipeline's gold stage).
"""

from __future__ import annotations

from accelerator.governance.access import AccessResult, subject_access
from accelerator.governance.audit import AuditChainError, read_audit, verify
from accelerator.governance.erasure import ErasureRequest, ErasureResult, erase, read_requests
from accelerator.governance.matching import line_matches
from accelerator.governance.restriction import RestrictionResult, restrict, restricted_people, unrestrict
from accelerator.governance.subject import (
    RightsError,
    Subject,
    find_subject,
    find_subjects,
    resolve_person,
    subject_hash,
)

__all__ = [
    "AccessResult",
    "AuditChainError",
    "ErasureRequest",
    "ErasureResult",
    "RestrictionResult",
    "RightsError",
    "Subject",
    "erase",
    "find_subject",
    "find_subjects",
    "line_matches",
    "read_audit",
    "read_requests",
    "resolve_person",
    "restrict",
    "restricted_people",
    "subject_access",
    "subject_hash",
    "unrestrict",
    "verify",
]
