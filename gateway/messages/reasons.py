"""What each rejection reason code (policies/applications.REASON_CODES) says to the applicant,
in Vietnamese and English: one short phrase per code, shared by the SMS (folded to ASCII
there), the e-mail, and the console's pages (gateway/i18n.py adds them as ``reason_<code>``).

Short on purpose: the phrase and the clerk's own words must fit one SMS together. The clerk's
words say what exactly to correct; the phrase says which kind of problem it was.
"""

from __future__ import annotations

REASON_TEXTS: dict[str, dict[str, str]] = {
    "identity_mismatch": {"vi": "người làm thủ tục không khớp với ảnh",
                          "en": "the person did not match the photos"},
    "document_invalid": {"vi": "giấy tờ tùy thân không hợp lệ",
                         "en": "the identity document is not valid"},
    "photo_unusable": {"vi": "ảnh không rõ hoặc không dùng được",
                       "en": "a photo is unclear or unusable"},
    "data_mismatch": {"vi": "thông tin khai không khớp giấy tờ",
                      "en": "the details differ from the document"},
    "account_exists": {"vi": "mã số BHXH này đã có tài khoản",
                       "en": "this number already has an account"},
    "not_presented": {"vi": "không đến xác minh đúng hạn",
                      "en": "nobody came to be verified in time"},
    "other": {"vi": "lý do khác", "en": "another reason"},
}


def reason_text(code: str, locale: str) -> str:
    """The phrase for ``code``; ValueError for a code that is not in the table."""
    if code not in REASON_TEXTS:
        raise ValueError(f"unknown reason code {code!r}")
    texts = REASON_TEXTS[code]
    return texts.get(locale) or texts["vi"]
