"""Every message exists in Vietnamese and English."""

from gateway.i18n import MESSAGES


def test_catalogues_have_the_same_keys():
    assert set(MESSAGES["vi"]) == set(MESSAGES["en"])
    assert all(MESSAGES["vi"].values()) and all(MESSAGES["en"].values())
