"""The sandbox's synthetic citizens, shipped as data (citizens.csv beside this module), and
the claims VNeID — through the national public-service portal — says about each.

Each citizen is made to show one of the linking rules with the demo accounts (`flask demo
seed`) and the sandbox insurance register (gateway/data/insurance-register.csv): linked at
once, asked for proof, sent to review, given a new account, told to declare, refused as an
organisation. The note says which, on the sandbox's page.

Claim names are the portal's (the gateway's default GATEWAY_VNEID_CLAIMS): birth dates as
``dd/mm/yyyy``, sex as ``Nam``/``Nữ``, the level in ``loAs`` as ``LoA1``/``LoA2``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent / "citizens.csv"
COLUMNS = ["tech_id", "id_number", "full_name", "birthdate", "sex", "phone", "level",
           "account_type", "note_vi", "note_en"]


@dataclass(frozen=True)
class Citizen:
    tech_id: str          # VNeID's stable technical id: the gateway's link key
    id_number: str        # CCCD
    full_name: str
    birthdate: str        # dd/mm/yyyy, as the portal sends it
    sex: str              # Nam | Nữ | empty
    phone: str            # 0xxxxxxxxx, as the portal sends it
    level: int            # 1 or 2
    account_type: str     # "1" a citizen, "2" an organisation
    note_vi: str
    note_en: str

    def claims(self) -> dict[str, str]:
        """Every claim the portal would release about this person (userinfo)."""
        claims = {"TechID": self.tech_id, "SoDinhDanh": self.id_number,
                  "HoVaTen": self.full_name, "NgayThangNamSinh": self.birthdate,
                  "GioiTinh": self.sex, "SoDienThoai": self.phone,
                  "LoaiTaiKhoan": self.account_type, "loAs": f"LoA{self.level}"}
        return {name: value for name, value in claims.items() if value}

    def id_token_claims(self) -> dict[str, str]:
        """The part the portal puts in the ID token itself; the rest comes from userinfo, so
        a relying party that reads only the ID token misses the birth date and the phone."""
        claims = self.claims()
        return {name: claims[name] for name in ("TechID", "SoDinhDanh", "HoVaTen", "loAs")
                if name in claims}


@lru_cache(maxsize=4)
def load_citizens(path: str | Path = SHIPPED) -> tuple[Citizen, ...]:
    """The citizens of a CSV file with COLUMNS (ValueError naming the line otherwise)."""
    citizens = []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{path}: the header must be {','.join(COLUMNS)}")
        for row in reader:
            try:
                level = int(row["level"])
                if level not in (1, 2) or not row["tech_id"] or not row["full_name"]:
                    raise ValueError(row["level"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}: line {reader.line_num}: a tech_id, a name and a "
                                 "level of 1 or 2 are needed") from None
            citizens.append(Citizen(**{**row, "level": level}))
    if len({c.tech_id for c in citizens}) != len(citizens):
        raise ValueError(f"{path}: a tech_id appears twice")
    return tuple(citizens)
