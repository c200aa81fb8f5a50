"""`python -m bench.legacy_export --rows N --seed S --dirty 0.05 OUT.csv`: realistic exports of
the old VssID system, of any size, for the migration jobs' tests and benchmark.

Writes three files that match one another:

* ``OUT.csv`` — the legacy accounts (``flask --app wsgi migrate import-legacy``), header
  ``bhxh_number,full_name,date_of_birth,sex,id_number,phone,email,password_hash,created_at,
  status``;
* ``--verification`` (default ``OUT-verification.csv``) — the population database's results
  for the people with a CCCD (``migrate import-verification``);
* ``--vneid`` (default ``OUT-vneid.csv``) — VNeID subjects of about half of them
  (``migrate link-vneid``).

and prints a manifest (JSON): how many rows of each dirty class were written, and the reason
code each must be reported with. Everything is a function of ``--seed``: the same arguments
write the same bytes, so a test can regenerate a file instead of shipping one.

People: Vietnamese names with diacritics (family, middle and given names in their usual
shares), NFC; a unique 10-digit social-insurance number each; a 12-digit CCCD whose province,
century-and-sex and year digits agree with the person (3 % keep an old 9-digit ID, 1 % none);
a mobile number in one of the spellings people write (``0912345678``, ``0912 345 678``,
``091.234.5678``, ``+84912345678``); an e-mail for 40 %; 5 % locked.

Password hashes, in the four tagged legacy formats: ``md5`` and ``sha1`` (salted per row) are
computed for every row; ``bcrypt`` and ``pbkdf2_sha256`` cost milliseconds each, so their rows
take one of 16 precomputed hashes. ``password_of(seed, row)`` gives a row's password (tests sign
in with it).

Dirty rows (``--dirty`` is their share, spread over the classes below in turn), one of:
CCCD with an unknown province, with century/year digits that contradict the birth date, with
a sex digit that contradicts the sex, malformed; a social-insurance number seen before; a CCCD
already on another account; a landline or a malformed phone; a missing field; a wrong column
count; an unreadable date, status, hash or e-mail; a name in NFD (imported, normalised — not a
rejection). ``--truncate`` cuts the last line in half; ``--bom`` and ``--crlf`` write a BOM and
CRLF line ends.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import json
import random
import sys
import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

FAMILY = [("Nguyễn", 38), ("Trần", 11), ("Lê", 9), ("Phạm", 7), ("Hoàng", 5), ("Huỳnh", 4),
          ("Phan", 4), ("Vũ", 4), ("Võ", 3), ("Đặng", 2), ("Bùi", 2), ("Đỗ", 2), ("Hồ", 2),
          ("Ngô", 2), ("Dương", 1), ("Lý", 1), ("Đinh", 1), ("Trương", 1)]
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Hoàng", "Gia"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Minh", "Phương", "Kim", "Thùy", "Mỹ", "Bảo"]
GIVEN_MALE = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hùng", "Khánh", "Long",
              "Nam", "Phúc", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Đông"]
GIVEN_FEMALE = ["Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Lan",
                "Linh", "Mai", "My", "Ngân", "Nhung", "Oanh", "Phương", "Thảo", "Trang", "Yến"]
PROVINCES = ("001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 "
             "033 034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 "
             "064 066 067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 "
             "094 095 096").split()
MOBILE_PREFIXES = ["090", "091", "093", "094", "096", "097", "098", "086", "088", "032",
                   "033", "034", "035", "036", "037", "038", "039", "070", "076", "077", "078",
                   "079", "081", "082", "083", "084", "085", "056", "058"]
DOMAINS = ["gmail.com", "yahoo.com.vn", "outlook.com", "vnpt.vn", "fpt.com.vn"]
HEADER = ["bhxh_number", "full_name", "date_of_birth", "sex", "id_number", "phone", "email",
          "password_hash", "created_at", "status"]
VERIFICATION_HEADER = ["id_number", "full_name", "date_of_birth", "verified", "verified_at"]
VNEID_HEADER = ["vneid_subject", "id_number", "full_name", "date_of_birth", "level"]
BHXH_STRIDE = 1_234_567_891  # odd and not a multiple of 5: i -> i * stride mod 10^10 is 1:1
POOL = 16  # precomputed bcrypt / pbkdf2 hashes

# Each dirty class and the reason code the import reports it with (None: imported, as is).
DIRTY = {
    "cccd_province": "unknown_cccd_province",
    "cccd_century": "cccd_dob_mismatch",
    "cccd_sex": "cccd_sex_mismatch",
    "cccd_malformed": "invalid_id_number",
    "duplicate_bhxh": "duplicate_bhxh",
    "shared_cccd": "shared_id_number",
    "phone_landline": "phone_not_mobile",
    "phone_malformed": "invalid_phone",
    "missing_field": "missing_field",
    "wrong_columns": "wrong_column_count",
    "bad_date": "invalid_dob",
    "bad_status": "invalid_status",
    "bad_hash": "invalid_password_hash",
    "bad_email": "invalid_email",
    "nfd_name": None,
}


def password_of(seed: int, row: int) -> str:
    """The password behind row ``row``'s hash (0-based data row) for this seed."""
    if _scheme(row) in ("bcrypt", "pbkdf2_sha256"):
        return f"Mật-khẩu-cũ-{seed}-pool-{row % POOL}"
    return f"Mật-khẩu-cũ-{seed}-{row}"


def _scheme(row: int) -> str:
    return ("md5", "sha1", "md5", "sha1", "pbkdf2_sha256", "bcrypt", "md5", "sha1")[row % 8]


class Hashes:
    def __init__(self, seed: int):
        self.seed = seed
        self._pool: dict[tuple[str, int], str] = {}

    def of(self, row: int) -> str:
        scheme = _scheme(row)
        password = password_of(self.seed, row).encode()
        if scheme in ("md5", "sha1"):
            salt = f"s{row:x}"
            digest = hashlib.new(scheme, salt.encode() + password, usedforsecurity=False)
            return f"{scheme}${salt}${digest.hexdigest()}"
        key = (scheme, row % POOL)
        if key not in self._pool:
            if scheme == "bcrypt":
                import bcrypt

                self._pool[key] = "bcrypt$" + bcrypt.hashpw(
                    password, bcrypt.gensalt(rounds=4)).decode()
            else:
                salt = f"pool{row % POOL}"
                digest = hashlib.pbkdf2_hmac("sha256", password, salt.encode(), 1000)
                self._pool[key] = (f"pbkdf2_sha256$1000${salt}$"
                                   f"{base64.b64encode(digest).decode()}")
        return self._pool[key]


def _weighted(rng: random.Random, pairs) -> str:
    names, weights = zip(*pairs, strict=True)
    return rng.choices(names, weights)[0]


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).lower()


def person(rng: random.Random, row: int, today: date) -> dict:
    """A clean legacy account for data row ``row``."""
    sex = rng.choice(("male", "female"))
    middle = MIDDLE_MALE if sex == "male" else MIDDLE_FEMALE
    given = GIVEN_MALE if sex == "male" else GIVEN_FEMALE
    name = f"{_weighted(rng, FAMILY)} {rng.choice(middle)} {rng.choice(given)}"
    dob = date(1945, 1, 1) + timedelta(days=rng.randrange((today - date(1945, 1, 1)).days
                                                          - 365 * 15))
    century_digit = (dob.year - 1900) // 100 * 2 + (sex == "female")
    serial = (row // len(PROVINCES)) % 1_000_000
    cccd = f"{PROVINCES[row % len(PROVINCES)]}{century_digit}{dob.year % 100:02d}{serial:06d}"
    kind = rng.random()
    id_number = cccd if kind < 0.96 else (f"{rng.randrange(10**8, 10**9)}" if kind < 0.99 else "")
    mobile = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    spelling = rng.random()
    if spelling < 0.6:
        phone = mobile
    elif spelling < 0.75:
        phone = f"{mobile[:4]} {mobile[4:7]} {mobile[7:]}"
    elif spelling < 0.85:
        phone = f"{mobile[:3]}.{mobile[3:6]}.{mobile[6:]}"
    else:
        phone = "+84" + mobile[1:]
    email = f"{_ascii(name)}{row}@{rng.choice(DOMAINS)}" if rng.random() < 0.4 else ""
    created = datetime(2020, 11, 1) + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    return {"bhxh_number": f"{(row * BHXH_STRIDE + 1_000_000_007) % 10**10:010d}",
            "full_name": name, "date_of_birth": dob.isoformat(), "sex": sex,
            "id_number": id_number, "phone": phone, "email": email, "password_hash": "",
            "created_at": created.strftime("%Y-%m-%d %H:%M:%S"),
            "status": "locked" if rng.random() < 0.05 else "active", "_cccd": cccd}


def _spoil(rng: random.Random, kind: str, rec: dict, earlier: list[dict]) -> list[str] | None:
    """Make ``rec`` dirty of ``kind``; a list of fields when the row is not 10 columns."""
    cccd = rec["_cccd"]
    if kind == "cccd_province":
        rec["id_number"] = "003" + cccd[3:]  # 003 is no province's code
    elif kind == "cccd_century":
        rec["id_number"] = cccd[:3] + str((int(cccd[3]) + 4) % 10) + cccd[4:]
    elif kind == "cccd_sex":
        digit = int(cccd[3])
        rec["id_number"] = cccd[:3] + str(digit ^ 1) + cccd[4:]
    elif kind == "cccd_malformed":
        rec["id_number"] = rng.choice((cccd[:11], cccd[:6] + "O" + cccd[7:], cccd + "7"))
    elif kind == "duplicate_bhxh" and earlier:
        rec["bhxh_number"] = rng.choice(earlier)["bhxh_number"]
    elif kind == "shared_cccd" and (free := [r for r in earlier if not r.get("_shared")
                                            and r["id_number"] == r["_cccd"]]):
        other = rng.choice(free)
        rec.update(id_number=other["_cccd"], date_of_birth=other["date_of_birth"],
                   sex=other["sex"], _cccd=other["_cccd"])
        other["_shared"] = True
    elif kind == "phone_landline":
        rec["phone"] = f"024{rng.choice('345678')}{rng.randrange(10**7):07d}"
    elif kind == "phone_malformed":
        rec["phone"] = rng.choice(("09123", "0912-345-67x", "+1 415 555 0100", "091234567890"))
    elif kind == "missing_field":
        field = rng.choice(("bhxh_number", "full_name", "date_of_birth", "phone",
                            "password_hash", "created_at", "status"))
        rec[field] = ""
        rec["_missing"] = field
    elif kind == "wrong_columns":
        fields = [rec[h] for h in HEADER]
        return fields[:-2] if rng.random() < 0.5 else [*fields, "extra"]
    elif kind == "bad_date":
        rec["date_of_birth"] = rng.choice(("1985-02-30", "12.04.1985", "2999-01-01"))
    elif kind == "bad_status":
        rec["status"] = rng.choice(("deleted", "pending", "1"))
    elif kind == "bad_hash":
        rec["password_hash"] = rng.choice(("plain:123456", "sha256$x$abc", "md5$salt$xyz"))
    elif kind == "bad_email":
        rec["email"] = rng.choice(("nguyen van a@gmail.com", "an@", "an@@gmail.com"))
    elif kind == "nfd_name":
        rec["full_name"] = unicodedata.normalize("NFD", rec["full_name"])
    return None


def generate(out: Path, *, rows: int, seed: int, dirty: float, verification: Path | None,
             vneid: Path | None, bom: bool = False, crlf: bool = False,
             truncate: bool = False, today: date = date(2026, 11, 1)) -> dict:
    """Write the files; return the manifest (counts per dirty class, expected reasons)."""
    rng = random.Random(seed)
    hashes = Hashes(seed)
    kinds = list(DIRTY)
    counts = dict.fromkeys(kinds, 0)
    earlier: list[dict] = []  # a bounded sample of clean rows, for duplicates
    newline = "\r\n" if crlf else "\n"
    people_with_cccd = 0
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator=newline)
        if bom:
            fh.write("\ufeff")
        writer.writerow(HEADER)
        ver_fh = open(verification, "w", encoding="utf-8", newline="") if verification else None
        vne_fh = open(vneid, "w", encoding="utf-8", newline="") if vneid else None
        ver = csv.writer(ver_fh, lineterminator="\n") if ver_fh else None
        vne = csv.writer(vne_fh, lineterminator="\n") if vne_fh else None
        if ver:
            ver.writerow(VERIFICATION_HEADER)
        if vne:
            vne.writerow(VNEID_HEADER)
        dirty_every = round(1 / dirty) if dirty > 0 else 0
        try:
            for row in range(rows):
                rec = person(rng, row, today)
                rec["password_hash"] = hashes.of(row)
                fields = None
                kind = None
                if dirty_every and row % dirty_every == dirty_every - 1 and earlier:
                    kind = kinds[(row // dirty_every) % len(kinds)]
                    fields = _spoil(rng, kind, rec, earlier)
                    counts[kind] += 1
                writer.writerow(fields if fields is not None else [rec[h] for h in HEADER])
                if kind is None:
                    if len(earlier) < 1000:
                        earlier.append(rec)
                    elif rng.random() < 0.01:
                        earlier[rng.randrange(len(earlier))] = rec
                    if rec["id_number"] == rec["_cccd"]:
                        people_with_cccd += 1
                        _matching(rng, rec, row, ver, vne)
        finally:
            for handle in (ver_fh, vne_fh):
                if handle:
                    handle.close()
    if truncate and rows:
        data = Path(out).read_bytes()
        last = data.rstrip(b"\r\n").rfind(b"\n") + 1
        Path(out).write_bytes(data[: last + (len(data) - last) // 2])
    return {"rows": rows, "seed": seed, "dirty": counts,
            "reasons": {kind: reason for kind, reason in DIRTY.items() if counts[kind]},
            "truncated_last_line": bool(truncate and rows), "bom": bom, "crlf": crlf,
            "people_with_cccd": people_with_cccd,
            "files": {"legacy": str(out), "verification": str(verification) if verification
                      else None, "vneid": str(vneid) if vneid else None}}


def _matching(rng, rec: dict, row: int, ver, vne) -> None:
    """The population database's line and, for about half, a VNeID subject of this person."""
    name, dob = unicodedata.normalize("NFC", rec["full_name"]), rec["date_of_birth"]
    if ver:
        verified = rng.random() < 0.97
        at = datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(365 * 86400))
        ver.writerow([rec["_cccd"], name, dob, "true" if verified else "false",
                      at.strftime("%Y-%m-%dT%H:%M:%SZ") if verified else ""])
    if vne and rng.random() < 0.5:
        subject = hashlib.sha256(f"vneid-{row}".encode()).hexdigest()[:32]
        shown = name if rng.random() < 0.97 else name.upper()  # the upstream's capitals
        vne.writerow([subject, rec["_cccd"], shown, dob, "2" if rng.random() < 0.9 else "1"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.legacy_export", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the legacy export to write (CSV)")
    parser.add_argument("--rows", type=int, required=True, help="data rows (header excluded)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same bytes")
    parser.add_argument("--dirty", type=float, default=0.05,
                        help="share of dirty rows, 0 to 0.5 (default 0.05)")
    parser.add_argument("--verification", type=Path, default=None,
                        help="population-database results (default OUT-verification.csv)")
    parser.add_argument("--vneid", type=Path, default=None,
                        help="VNeID subjects (default OUT-vneid.csv)")
    parser.add_argument("--bom", action="store_true", help="start with a UTF-8 BOM")
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends")
    parser.add_argument("--truncate", action="store_true", help="cut the last line in half")
    args = parser.parse_args(argv)
    if args.rows < 0 or not 0 <= args.dirty <= 0.5:
        parser.error("--rows must be >= 0 and --dirty between 0 and 0.5")
    stem = args.out.with_suffix("")
    manifest = generate(
        args.out, rows=args.rows, seed=args.seed, dirty=args.dirty,
        verification=args.verification or Path(f"{stem}-verification.csv"),
        vneid=args.vneid or Path(f"{stem}-vneid.csv"),
        bom=args.bom, crlf=args.crlf, truncate=args.truncate)
    json.dump(manifest, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
