"""The health-card CSV: the shipped demo cards, every malformed line named, and the settings
that name the file."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.settings import ConfigError, load_settings
from providers.health_cards import (
    HEADER,
    SHIPPED,
    CsvHealthCards,
    HealthCardFileError,
    health_cards_for,
)
from providers.vneid_sandbox import load_citizens
from tests.helpers.settings import GOOD_PRODUCTION

FIRST_LINE = ",".join(HEADER) + "\n"


def _file(tmp_path, text: str):
    path = tmp_path / "cards.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_cards_cover_the_demo_accounts_and_the_register():
    from gateway.cli.demo import DEMO_ACCOUNTS
    from providers.insurance_register import register_for

    cards = health_cards_for({"HEALTH_CARD_FILE": ""})
    assert cards.path == str(SHIPPED)
    an = cards.card_for("0123456789")
    assert (an.card_number, an.full_name, an.date_of_birth, an.facility_code) == (
        "DN4010123456789", "Nguyễn Văn An", date(1985, 4, 12), "01001")
    assert an.bhxh_number == "0123456789"
    assert an.valid_on(date(2026, 6, 1)) and not an.valid_on(date(2027, 1, 1))
    register = register_for({"INSURANCE_REGISTER_FILE": ""})
    participants = {register.find(c.id_number).bhxh_number for c in load_citizens()
                    if register.find(c.id_number)}
    for bhxh in {a["bhxh"] for a in DEMO_ACCOUNTS} | participants:
        card = cards.card_for(bhxh)
        assert card is not None and card.bhxh_number == bhxh
    assert cards.card_for("9999999999") is None and cards.card_for(None) is None


def test_every_bad_line_is_named(tmp_path):
    good = "Một,1985-01-02,2026-01-01,2026-12-31,01001,Bệnh viện"
    text = FIRST_LINE + "\n".join([
        f"DN4010199990001,{good}",
        f"DN4010199990001,{good}",                          # the same person twice
        f"DN6010199990002,{good}",                          # benefit digit 6
        f"dn4010199990003,{good}",                          # lower case
        f"DN401019999000,{good}",                           # 14 characters
        "DN4010199990005,,1985-01-02,2026-01-01,2026-12-31,01001,Bệnh viện",   # no name
        "DN4010199990006,Sáu,02/01/1985,2026-01-01,2026-12-31,01001,Bệnh viện",
        "DN4010199990007,Bảy,1985-01-02,2026-12-31,2026-01-01,01001,Bệnh viện",  # from > to
        "DN4010199990008,Tám,1985-01-02,2026-01-01,2026-02-30,01001,Bệnh viện",   # no such day
        "DN4010199990009,Chín,1985-01-02,2026-01-01,2026-12-31,01 001,Bệnh viện",
        "DN4010199990010,Mười,1985-01-02,2026-01-01,2026-12-31,01001,",
        "DN4010199990011,Mười một,1985-01-02,2026-01-01,2026-12-31,01001",     # a field short
        "",
        f"HC4790199990012,{good}",
    ]) + "\n"
    with pytest.raises(HealthCardFileError) as info:
        CsvHealthCards(_file(tmp_path, text))
    assert [e.split(":")[0] for e in info.value.errors] == [
        f"line {n}" for n in range(3, 14)]
    assert "same social-insurance number" in info.value.errors[0]
    assert "valid_from is after valid_to" in info.value.errors[6]


@pytest.mark.parametrize("text", ["", "card_number,full_name\n", "x\n"])
def test_a_wrong_header_is_refused(tmp_path, text):
    with pytest.raises(HealthCardFileError, match="line 1: the header"):
        CsvHealthCards(_file(tmp_path, text))


def test_a_named_file_is_read_and_other_encodings_are_not(tmp_path):
    path = _file(tmp_path, "\ufeff" + FIRST_LINE +
                 "TE1790199990001,  Bé   Na ,2024-03-01,2024-03-01,2030-02-28,79005,Trạm y tế\n")
    cards = health_cards_for({"HEALTH_CARD_FILE": str(path)})
    assert len(cards) == 1 and cards.card_for("0199990001").full_name == "Bé Na"
    latin = tmp_path / "latin.csv"
    latin.write_bytes((FIRST_LINE + "TE1790199990001,B\xe9,2024-03-01,2024-03-01,2030-02-28,"
                       "79005,x\n").encode("latin-1"))
    with pytest.raises(HealthCardFileError, match="not UTF-8"):
        CsvHealthCards(latin)


@pytest.mark.parametrize(("environ", "name"), [
    ({"GATEWAY_HEALTH_CARD_FILE": "/nonexistent/cards.csv"}, "GATEWAY_HEALTH_CARD_FILE"),
    ({"GATEWAY_HEALTH_CARD_TTL": "29"}, "GATEWAY_HEALTH_CARD_TTL"),
    ({"GATEWAY_HEALTH_CARD_TTL": "901"}, "GATEWAY_HEALTH_CARD_TTL"),
    ({**GOOD_PRODUCTION, "GATEWAY_HEALTH_CARD_FILE": ""}, "GATEWAY_HEALTH_CARD_FILE"),
])
def test_settings_refuse_a_missing_file_a_lifetime_out_of_bounds_and_demo_cards_in_production(
        tmp_path, environ, name):
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ, instance_path=tmp_path)
    assert str(info.value).startswith(name + ":")
    load_settings(environ=GOOD_PRODUCTION, instance_path=tmp_path)
