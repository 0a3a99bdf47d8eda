"""De-identification (pure): drop free text, shift dates by a per-patient offset, or turn dates into durations.

The offset is HMAC-SHA256(release key, study id) mapped to 1–364 days, so every export of the same release
shifts a patient's dates by the same amount (tables stay joinable and intervals stay exact), exports of
different releases use unrelated offsets, and nobody holding only the export can compute the offset: the key
stays on the server (EDPB 01/2025 keyed one-way function, research/reliability.md §1.4).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

DATE_MODES = ("keep", "shift", "durations", "remove")


def derived_key(secret: str, release_name: str) -> bytes:
    """A release key derived from the server secret and a release name (for exports without a release row)."""
    return hmac.new(secret.encode(), f"exports.date-shift:{release_name}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Deidentifier:
    drop_free_text: bool = False
    dates: str = "keep"
    hash_record_id: bool = False
    key: bytes = b""

    def __post_init__(self) -> None:
        if self.dates not in DATE_MODES:
            raise ValueError(f"unknown date handling {self.dates!r}")
        if (self.dates == "shift" or self.hash_record_id) and not self.key:
            raise ValueError("date shifting and record-id hashing need a key")

    @property
    def pseudonymised(self) -> bool:
        return self.drop_free_text and self.dates in ("shift", "durations", "remove")

    def _mac(self, purpose: str, study_id: str) -> bytes:
        return hmac.new(self.key, f"{purpose}:{study_id}".encode(), hashlib.sha256).digest()

    def offset_days(self, study_id: str) -> int:
        """The patient's shift, 1–364 days (never 0: a shifted date never equals the real one)."""
        return int.from_bytes(self._mac("shift", study_id)[:8], "big") % 364 + 1

    def record_id(self, study_id: str) -> str:
        """The study id, or a keyed hash of it ("Hash the Record ID field")."""
        if not self.hash_record_id or study_id is None:
            return study_id
        return self._mac("record", study_id).hex()[:20]

    def date(self, value: date | None, study_id: str, reference: date | None) -> Any:
        """A date under the chosen handling: as is, shifted back by the offset, or days from `reference`."""
        if value is None:
            return None
        if self.dates == "shift":
            return value - timedelta(days=self.offset_days(study_id))
        if self.dates == "durations":
            return None if reference is None else (value - reference).days
        return value

    def manifest(self) -> dict[str, Any]:
        return {"drop_free_text": self.drop_free_text, "dates": self.dates, "hash_record_id": self.hash_record_id,
                "pseudonymised": self.pseudonymised}
