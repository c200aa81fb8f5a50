"""Table-driven and property tests of policies.password_rules: every rule, its edges, and the
Unicode tricks (precomposed vs combining diacritics, full-width letters, lone surrogates)."""

import gzip
import string
import unicodedata
from datetime import date
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.crypto.password_hashing import hash_password, verify_password
from policies.password_rules import (
    MAX_LENGTH,
    MIN_LENGTH,
    VIOLATION_CODES,
    PersonalData,
    check_new_password,
    common_passwords,
    length_violations,
)

PERSONAL = PersonalData(
    bhxh="0123456789",
    cccd="001090012345",
    phone="+84912345623",
    dob=date(1990, 2, 1),
    full_name="Nguyễn Văn An",
)
NO_DATA = PersonalData(bhxh="7912345678")
DATA = resources.files("policies") / "data"

properties = settings(max_examples=150, deadline=None)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def check(password: str, personal: PersonalData = PERSONAL, **kwargs) -> list[str]:
    if kwargs.get("previous_hashes"):
        kwargs.setdefault("verify", verify_password)  # what gateway.services.passwords passes
    return check_new_password(password, personal=personal, **kwargs)


def vietnamese_entries() -> list[str]:
    lines = (DATA / "common-passwords-vi.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def test_codes_are_stable() -> None:
    assert VIOLATION_CODES == (
        "too_short",
        "too_long",
        "common_password",
        "contains_personal_data",
        "reused_password",
        "too_similar",
    )
    assert (MIN_LENGTH, MAX_LENGTH) == (8, 128)


# --- length ---------------------------------------------------------------------------------

LONG = "Qz7-xkcd-correct-horse-battery-staple-" * 4


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("", ["too_short"]),
        ("Zq8#kW2", ["too_short"]),  # 7
        ("Zq8#kW2m", []),  # 8
        # 7 visible characters, 7 code points in NFC, 13 in NFD: still too short.
        (nfd("xệ9ữqỡ7"), ["too_short"]),
        (nfd("xệ9ữqỡ7ạ"), []),
        (LONG[:64], []),
        (LONG[:MAX_LENGTH], []),
        (LONG[: MAX_LENGTH + 1], ["too_long"]),
        (nfd("ệ") * 129, ["too_long"]),  # 387 code points in NFD, 129 in NFC
        (nfd("ệ") * 128, []),
        # Past 1,024 code points (all the hasher accepts) nothing else is looked at.
        ("0123456789" * 13, ["too_long", "contains_personal_data"]),
        ("0123456789" * 103, ["too_long"]),
    ],
)
def test_length(password, expected):
    assert check(password) == expected


def test_length_counts_nfc_code_points():
    assert len(nfd("xệ9ữqỡ7")) > MIN_LENGTH


@given(st.text(max_size=MAX_LENGTH + 20))
def test_the_length_bound_alone_is_the_one_the_rules_apply(password):
    # Account creation checks length_violations alone: the same bound as a change.
    lengths = [code for code in check(password) if code in ("too_short", "too_long")]
    assert length_violations(password) == lengths


# --- blocklist ------------------------------------------------------------------------------


def test_blocklist_size_and_sources():
    django_lines = gzip.decompress((DATA / "common-passwords.txt.gz").read_bytes())
    assert len(django_lines.decode("utf-8").splitlines()) == 19_640
    entries = vietnamese_entries()
    assert len(entries) >= 150
    assert len(set(entries)) == len(entries)
    for entry in entries:
        assert entry.isascii() and entry == entry.lower() and " " not in entry, entry
    blocklist = common_passwords()
    assert len(blocklist) >= 10_000
    assert set(entries) <= blocklist
    assert common_passwords() is blocklist  # loaded once


@pytest.mark.parametrize(
    "password",
    [
        "password",
        "PassWord",
        "password123!",
        "Password123!",
        "12345678",
        "qwertyuiop",
        "iloveyou!!",
        "mật khẩu",
        nfd("mật khẩu"),
        "MẬT KHẨU",
        "Mật Khẩu 123!",
        "mat-khau",
        "mat.khau_2025",
        "matkhau2025",
        "ｍａｔｋｈａｕ１２３",  # full-width
        "Anh yêu em",
        "anhyeuem123",
        "2024hanoi",
        "!!hanoi!!",
        "Hồ Chí Minh",
        "Đà Nẵng 2024",  # đ is not a d with a diacritic for Unicode: mapped explicitly
        "Vssid@2025",
        "BHXH@123456",
        "Bảo hiểm xã hội",
        "Dịch vụ công 1",
        "Le@123456",  # family name plus digits
        "Nguyen1990",
        "88888888",
        "        ",  # only separators
        "........",
        "-_-_-_-_",
    ],
)
def test_common(password):
    assert check(password, NO_DATA) == ["common_password"]


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery",
        "Xk9#mQ2$vL7!",
        "hanoi-2024-rất-đẹp!",  # a listed word inside, not only decorated
        "a!9@8#7$6",  # "a" is listed, but a one-letter stem is not looked up
        "tôi đi chợ Bến Thành",
        "matkhauxyz",
        "xmatkhau",
    ],
)
def test_not_common(password):
    assert check(password, NO_DATA) == []


# --- personal data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "0123456789zqk",  # BHXH number
        "zqk 0123-456.789",  # with separators
        "x001090012345",  # CCCD
        "912345623zzk",  # phone, national significant number
        "zzk0912345623",  # phone, local form
        "zz+84912345623",
        "zz 0912 345 623",
        "01021990xyk",  # ddmmyyyy
        "xyk19900201",  # yyyymmdd
        "1990-02-01xyk",  # ISO
        "01/02/1990xyk",  # dd/mm/yyyy
        "01.02.1990xyk",
        "zzk010290zzk",  # ddmmyy
        "1/2/1990zzk",  # d/m/yyyy
        "NguyenVanAn!",  # full name without diacritics
        "Nguyễn Văn An 2024",
        nfd("nguyễn văn an ở đây"),
        "nguyen.van.an!",
        "ｚｑｋ０１２３４５６７８９",  # full-width
    ],
)
def test_personal_data(password):
    assert check(password) == ["contains_personal_data"]


@pytest.mark.parametrize(
    "password",
    [
        "0123456788xyk",  # one digit off
        "02011990xyk",  # month and day swapped
        "an nguyen van!",  # name parts in another order
        "912345624zzk",
        "001090012346x",
    ],
)
def test_not_personal_data(password):
    assert check(password) == []


PD = ["contains_personal_data"]


@pytest.mark.parametrize(
    ("personal", "password", "expected"),
    [
        # Missing or short values are never "contained" in everything.
        (PersonalData(bhxh=""), "Zq8#kW2m", []),
        (PersonalData(bhxh="", cccd="", phone="", full_name=""), "Zq8#kW2m", []),
        (PersonalData(bhxh="0123456789", full_name="Lê Vy"), "levyzzk!", []),
        (PersonalData(bhxh="0123456789", full_name="Hồ Văn Tú"), "hovantu!", PD),
        (PersonalData(bhxh="x", full_name="Đặng Thị Đào"), "DangThiDao#", PD),
        # A foreign number is found by its national significant number.
        (PersonalData(bhxh="x", phone="+14155552671"), "pw4155552671", PD),
        (PersonalData(bhxh="x", phone="not a phone"), "Zq8#kW2m", []),
        (PersonalData(bhxh="x", phone="0912345623"), "pw912345623", PD),
        (PersonalData(bhxh="x", dob=date(2001, 12, 25)), "zqk25122001", PD),
        (PersonalData(bhxh="x", dob=date(2001, 12, 25)), "zqk251201", PD),
    ],
)
def test_personal_data_edges(personal, password, expected):
    assert check(password, personal) == expected


# --- reuse ----------------------------------------------------------------------------------

OLD_PHRASE = "Sông Hồng mùa lũ 1971"
OLDER_PHRASE = "phở bò tái chín 99"
CURRENT = "con đường xưa em đi"


@pytest.fixture(scope="module")
def previous_hashes() -> list[str]:
    # Two real Argon2id hashes for the whole module: hashing is the slow part.
    return [hash_password(OLD_PHRASE), hash_password(OLDER_PHRASE)]


def test_equal_to_current_is_reuse_not_similarity():
    assert check(CURRENT, current_password=CURRENT) == ["reused_password"]
    assert check(nfd(CURRENT), current_password=nfc(CURRENT)) == ["reused_password"]


def test_previous_password_is_reused(previous_hashes):
    assert check(OLDER_PHRASE, current_password=CURRENT, previous_hashes=previous_hashes) == [
        "reused_password"
    ]
    # Typed with combining diacritics on another device: still the same password.
    assert check(nfd(OLD_PHRASE), previous_hashes=previous_hashes) == ["reused_password"]


def test_new_password_passes_previous_hashes(previous_hashes):
    assert check("ngày mai trời lại sáng", previous_hashes=previous_hashes) == []


def test_verify_is_called_with_stored_hash_first_and_stops_at_first_match():
    calls = []

    def verify(stored, password):
        calls.append((stored, password))
        return stored == "second"

    assert check(
        "ngày mai trời lại sáng", previous_hashes=["first", "second", "third"], verify=verify
    ) == ["reused_password"]
    assert calls == [("first", "ngày mai trời lại sáng"), ("second", "ngày mai trời lại sáng")]
    calls.clear()
    assert check(CURRENT, current_password=CURRENT, previous_hashes=["x"], verify=verify) == [
        "reused_password"
    ]
    assert calls == []  # equal to the current one: no hashing needed


def test_previous_hashes_without_a_verifier_are_refused():
    # The policy imports nothing of the gateway, so it cannot judge reuse on its own; it must
    # say so rather than accept an old password unchecked.
    for password in ("ngày mai trời lại sáng", CURRENT):
        with pytest.raises(ValueError, match="verify"):
            check_new_password(password, personal=PERSONAL, current_password=CURRENT,
                               previous_hashes=["$argon2id$v=19$m=19456,t=2,p=1$x$y"])


# --- similarity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("Sông Hồng 2025!", "Sông Hồng 2026!"),  # number bumped / one edit
        ("Sông Hồng 2025!", "SONG HONG 2025!"),  # case and diacritics only
        ("Sông Hồng 2025!", "sông hồng#1999"),  # same core, other decoration
        ("Sông Hồng 2025!", "2025 Sông Hồng"),  # decoration moved to the front
        ("Sông Hồng 2025!", nfd("Sông Hồng 2025!?")),
        ("kimlienxyz1", "kimlienxyz2"),
        ("Xuân2029Hòa", "Xuân2030Hòa"),  # bumped number inside
        ("Xuân2095Hòa", "Xuân2105Hòa"),  # step of 10, three characters changed
        ("4821-2029", "4821-2030"),  # digits only: the number rule still applies
        ("correct horse battery", "correct hrose battery"),  # adjacent swap
        ("correct horse battery", "correct horse batter"),  # deletion
        ("correct horse battery", "correct horses battery"),  # insertion
        ("correct horse battery", "correct house battery"),  # substitution
    ],
)
def test_too_similar(current, new):
    assert check(new, current_password=current) == ["too_similar"]


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("Xuân2029Hòa", "Xuân2050Hòa"),  # number changed by more than 10
        ("Xuân2095Hòa", "Xuân2106Hòa"),
        ("Xuân2029Hòa", "Xuân2030Hoà2"),
        ("correct horse battery", "correct horse battery staple"),
        ("correct horse battery", "cỏrrect hỏrse bãttery x"),
        ("48212029", "93017465"),
        ("kimlienxyz1", "kimlienxzy12"),
    ],
)
def test_not_too_similar(current, new):
    assert check(new, current_password=current) == []


def test_no_current_password_no_similarity():
    assert check("Sông Hồng 2026!") == []


def test_codes_come_in_fixed_order():
    assert check("matkhau") == ["too_short", "common_password"]
    assert check("password", current_password="password1") == ["common_password", "too_similar"]
    assert check("0123456789", current_password="0123456789") == [
        "common_password",
        "contains_personal_data",
        "reused_password",
    ]
    assert check("Nguyễn Văn An 1", current_password="Nguyễn Văn An 2") == [
        "contains_personal_data",
        "too_similar",
    ]


# --- properties -----------------------------------------------------------------------------

VIETNAMESE_LETTERS = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
)
vietnamese_text = st.text(
    alphabet=st.sampled_from(
        VIETNAMESE_LETTERS + VIETNAMESE_LETTERS.upper() + string.digits + " .-!@#"
    ),
    max_size=40,
)
any_text = st.one_of(
    st.text(),
    st.text(st.characters(categories=["Cs", "Mn", "Nd", "Ll", "Zs", "Cc", "So"])),
)


@properties
@given(
    password=any_text,
    current=st.none() | any_text,
    bhxh=any_text,
    name=st.none() | any_text,
    phone=st.none() | any_text,
    dob=st.none() | st.dates(),
)
def test_never_raises_and_codes_are_ordered(password, current, bhxh, name, phone, dob):
    personal = PersonalData(bhxh=bhxh, phone=phone, dob=dob, full_name=name)
    codes = check_new_password(password, personal=personal, current_password=current)
    assert codes == [code for code in VIOLATION_CODES if code in codes]


@properties
@given(password=vietnamese_text, current=vietnamese_text, name=vietnamese_text)
def test_nfc_and_nfd_are_the_same_password(password, current, name):
    def codes(form_password, form_other):
        personal = PersonalData(bhxh="0123456789", full_name=form_other(name))
        return check_new_password(
            form_password(password), personal=personal, current_password=form_other(current)
        )

    assert codes(nfc, nfc) == codes(nfd, nfc) == codes(nfc, nfd) == codes(nfd, nfd)


@properties
@given(st.text(alphabet=string.ascii_letters, min_size=20, max_size=MAX_LENGTH))
def test_random_letters_are_accepted_unless_they_collide_with_data(password):
    expected = []
    if password.lower() in common_passwords():
        expected.append("common_password")
    if "nguyenvanan" in password.lower():
        expected.append("contains_personal_data")
    assert check(password) == expected


@properties
@given(st.text(alphabet=string.ascii_letters, min_size=MIN_LENGTH, max_size=40))
def test_trivial_changes_of_any_password_are_too_similar(stem):
    assert "too_similar" in check(stem + "8", current_password=stem + "7")
    assert "too_similar" in check(stem + "2026!", current_password=stem + "2025")
    if stem.swapcase() != stem:
        assert "too_similar" in check(stem.swapcase(), current_password=stem)


same_length_pairs = st.integers(min_value=20, max_value=40).flatmap(
    lambda size: st.tuples(
        st.text(alphabet=string.ascii_lowercase, min_size=size, max_size=size),
        st.text(alphabet=string.ascii_lowercase, min_size=size, max_size=size),
    )
)


@properties
@given(same_length_pairs)
def test_passwords_differing_in_three_places_are_not_similar(pair):
    new, current = "x" + pair[0], "y" + pair[1]  # different first letters: different cores
    if sum(a != b for a, b in zip(new, current, strict=True)) >= 3:
        assert "too_similar" not in check(new, current_password=current)
