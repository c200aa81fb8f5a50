"""The insurance register: is a person with this CCCD a social-insurance participant, and
under which social-insurance number?

The VNeID sign-in asks it about a person who has no VssID account (issue 10, rule 4): a
participant gets an account made from the VNeID identity, anyone else is told to declare or
visit an office. The gateway depends only on ``InsuranceRegister.find``; BHXH's central
database would sit behind the same interface. The implementation here reads a CSV file —
``GATEWAY_INSURANCE_REGISTER_FILE``, by default gateway/data/insurance-register.csv, which holds
the offline sandbox's citizens — once, at start, and refuses a malformed file with every bad
line named, so a typo in an extract never turns into a wrong answer at sign-in time.

The file: UTF-8, header ``id_number,bhxh_number,full_name,date_of_birth``; a 12-digit CCCD
(each at most once), a 10-digit social-insurance number (each at most once), a name, an ISO
date (``yyyy-mm-dd``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from providers.reference_files import ReferenceFileError, load

HEADER = ["id_number", "bhxh_number", "full_name", "date_of_birth"]
SHIPPED = Path(__file__).resolve().parent.parent / "gateway" / "data" / "insurance-register.csv"
_CCCD = re.compile(r"[0-9]{12}")
_BHXH = re.compile(r"[0-9]{10}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class RegisterRecord:
    id_number: str
    bhxh_number: str
    full_name: str
    date_of_birth: date


class InsuranceRegister(Protocol):
    def find(self, id_number: str) -> RegisterRecord | None:
        """The participant with this CCCD, or None."""


class RegisterFileError(ReferenceFileError):
    """The register file cannot be used; ``errors`` lists "line N: problem" for each."""


class CsvInsuranceRegister:
    """The register as a CSV file, read whole at construction (the sandbox's is small; a real
    register is a database behind the same interface)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._records = _read(self.path)

    def __len__(self) -> int:
        return len(self._records)

    def find(self, id_number: str) -> RegisterRecord | None:
        return self._records.get(id_number) if isinstance(id_number, str) else None


def _read(path: str) -> dict[str, RegisterRecord]:
    records: dict[str, RegisterRecord] = {}
    numbers: set[str] = set()

    def keep(record: RegisterRecord) -> str | None:
        if record.id_number in records:
            return "the id_number appears twice"
        if record.bhxh_number in numbers:
            return "the bhxh_number appears twice"
        records[record.id_number] = record
        numbers.add(record.bhxh_number)
        return None

    load(path, HEADER, _record, keep, RegisterFileError)
    return records


def _record(row: list[str]) -> tuple[RegisterRecord | None, str | None]:
    if len(row) != len(HEADER):
        return None, f"{len(HEADER)} fields expected, {len(row)} found"
    id_number, bhxh, name, born = (cell.strip() for cell in row)
    if not _CCCD.fullmatch(id_number):
        return None, "id_number must be 12 digits"
    if not _BHXH.fullmatch(bhxh):
        return None, "bhxh_number must be 10 digits"
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if not name or len(name) > 200:
        return None, "full_name must be 1 to 200 characters"
    try:
        if not _ISO_DATE.fullmatch(born):
            raise ValueError(born)
        birth = date.fromisoformat(born)
    except ValueError:
        return None, "date_of_birth must be an ISO date (yyyy-mm-dd)"
    return RegisterRecord(id_number, bhxh, name, birth), None


def register_for(settings) -> CsvInsuranceRegister:
    """The register GATEWAY_INSURANCE_REGISTER_FILE names (empty: the sandbox citizens)."""
    return CsvInsuranceRegister(settings["INSURANCE_REGISTER_FILE"] or SHIPPED)
