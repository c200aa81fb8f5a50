"""The health-insurance cards: which card does the person with this social-insurance number hold?

The app shows the card as a QR code at hospital counters (gateway/oidc/health_card.py signs
it). The gateway depends only on ``HealthCardSource.card_for``; BHXH's card database would sit
behind the same interface. The implementation here reads a CSV file —
``GATEWAY_HEALTH_CARD_FILE``, by default gateway/data/health-cards.csv, which holds the demo
accounts' and the VNeID sandbox participants' cards — once, at start, and refuses a malformed
file with every bad line named, so a typo in an extract never turns into a wrong card at a
hospital counter.

The file: UTF-8, header
``card_number,full_name,date_of_birth,valid_from,valid_to,facility_code,facility_name``:

* ``card_number`` — the 15-character card number (mã thẻ BHYT): two capital letters (the
  beneficiary group), a benefit digit 1–5, a 2-digit province code, then the person's
  10-digit social-insurance number, which it must end with (each number at most once: one
  card per person);
* ``full_name`` and ``date_of_birth`` (ISO ``yyyy-mm-dd``) as printed on the card;
* ``valid_from`` and ``valid_to`` (ISO dates, from ≤ to): the card's validity, both days
  included;
* ``facility_code`` (2–10 capital letters, digits or ``-``) and ``facility_name`` (1–200
  characters): the registered primary-care facility (nơi đăng ký khám chữa bệnh ban đầu).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from providers.reference_files import ReferenceFileError, load

HEADER = ["card_number", "full_name", "date_of_birth", "valid_from", "valid_to",
          "facility_code", "facility_name"]
SHIPPED = Path(__file__).resolve().parent.parent / "gateway" / "data" / "health-cards.csv"
# Two letters (beneficiary group), benefit level 1-5, 2-digit province, social-insurance number.
CARD_NUMBER = re.compile(r"[A-Z]{2}[1-5][0-9]{2}([0-9]{10})")
_FACILITY = re.compile(r"[0-9A-Z-]{2,10}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class HealthCard:
    card_number: str
    full_name: str
    date_of_birth: date
    valid_from: date
    valid_to: date
    facility_code: str
    facility_name: str

    @property
    def bhxh_number(self) -> str:
        """The social-insurance number: the card number's last ten digits."""
        return self.card_number[5:]

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


class HealthCardSource(Protocol):
    def card_for(self, bhxh_number: str) -> HealthCard | None:
        """The card of the person with this social-insurance number, or None."""


class HealthCardFileError(ReferenceFileError):
    """The card file cannot be used; ``errors`` lists "line N: problem" for each."""


class CsvHealthCards:
    """The cards as a CSV file, read whole at construction (the demo's is small; BHXH's card
    database is a database behind the same interface)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._cards = _read(self.path)

    def __len__(self) -> int:
        return len(self._cards)

    def card_for(self, bhxh_number: str) -> HealthCard | None:
        return self._cards.get(bhxh_number) if isinstance(bhxh_number, str) else None


def _read(path: str) -> dict[str, HealthCard]:
    cards: dict[str, HealthCard] = {}

    def keep(card: HealthCard) -> str | None:
        if card.bhxh_number in cards:
            return "a second card for the same social-insurance number"
        cards[card.bhxh_number] = card
        return None

    load(path, HEADER, _card, keep, HealthCardFileError)
    return cards


def _date(value: str, name: str) -> date:
    if not _ISO_DATE.fullmatch(value):
        raise ValueError(f"{name} must be an ISO date (yyyy-mm-dd)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO date (yyyy-mm-dd)") from None


def _text(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", value).split())


def _card(row: list[str]) -> tuple[HealthCard | None, str | None]:
    if len(row) != len(HEADER):
        return None, f"{len(HEADER)} fields expected, {len(row)} found"
    number, name, born, since, until, code, facility = (cell.strip() for cell in row)
    if not CARD_NUMBER.fullmatch(number):
        return None, ("card_number must be 2 capital letters, a benefit digit 1-5, a 2-digit "
                      "province code and the 10-digit social-insurance number")
    name, facility = _text(name), _text(facility)
    if not name or len(name) > 200:
        return None, "full_name must be 1 to 200 characters"
    try:
        birth = _date(born, "date_of_birth")
        valid_from = _date(since, "valid_from")
        valid_to = _date(until, "valid_to")
    except ValueError as exc:
        return None, str(exc)
    if valid_from > valid_to:
        return None, "valid_from is after valid_to"
    if not _FACILITY.fullmatch(code):
        return None, "facility_code must be 2 to 10 capital letters, digits or -"
    if not facility or len(facility) > 200:
        return None, "facility_name must be 1 to 200 characters"
    return HealthCard(number, name, birth, valid_from, valid_to, code, facility), None


def health_cards_for(settings) -> CsvHealthCards:
    """The cards GATEWAY_HEALTH_CARD_FILE names (empty: the shipped demo cards)."""
    return CsvHealthCards(settings["HEALTH_CARD_FILE"] or SHIPPED)
