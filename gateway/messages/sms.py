"""SMS texts: one template per kind of message, in Vietnamese and English.

Why the Vietnamese texts have no diacritics: Vietnamese SMS customarily drop them, because a
single character outside the GSM 7-bit alphabet switches the whole message to UCS-2, which
cuts a part from 160 to 70 characters (and triples the cost). Every text here is plain ASCII
from the GSM basic alphabet and fits one 160-character part with realistic values
(tests/unit/gateway/services/test_outbox.py checks).

What a text may carry is deliberately little: an OTP message says the code, what it is for
and how long it lives — never a name, a number or a link, so that a message read over a
shoulder or forwarded by a scammer reveals nothing else, and so that a phishing text cannot
look like ours by copying a link. Device names come from the device and are folded to ASCII
and shortened here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

LOCALES = ("vi", "en")
# Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset needs no tz data.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
DEVICE_NAME_MAX = 30

# What an OTP is for, as said in the message; an unknown purpose gets the generic wording.
PURPOSES = {
    "login": ("dang nhap", "sign-in"),
    "takeover": ("dang nhap tren thiet bi moi", "sign-in on a new device"),
    "recovery": ("khoi phuc tai khoan", "account recovery"),
    "password_reset": ("dat lai mat khau", "password reset"),
    "password_change": ("doi mat khau", "password change"),
    "phone_change": ("doi so dien thoai", "phone number change"),
    "transaction": ("xac nhan giao dich", "confirming a transaction"),
    "application_status": ("tra cuu ho so dang ky", "checking your application"),
}
_GENERIC_PURPOSE = ("xac thuc", "verification")

TEMPLATES = {
    "otp": {
        "vi": "Ma OTP VssID cua ban la {code} de {purpose}, co hieu luc trong {minutes} phut. "
              "Khong chia se ma nay cho bat ky ai.",
        "en": "Your VssID OTP is {code} for {purpose}, valid for {minutes} min. "
              "Do not share this code with anyone.",
    },
    "password_changed": {
        "vi": "VssID: Mat khau tai khoan cua ban vua duoc thay doi. Neu khong phai ban thuc "
              "hien, hay lien he co quan BHXH ngay.",
        "en": "VssID: your account password was just changed. If this was not you, contact "
              "Vietnam Social Security (BHXH) at once.",
    },
    "new_device_signed_in": {
        "vi": "VssID: Tai khoan cua ban vua dang nhap tren thiet bi {device} luc {time}. Neu "
              "khong phai ban, hay doi mat khau ngay.",
        "en": "VssID: your account signed in on {device} at {time} (Vietnam time). If this "
              "was not you, change your password now.",
    },
    "password_reset": {
        "vi": "VssID: Mat khau dung mot lan cua ban la {password}. Hay dang nhap va doi mat "
              "khau ngay. Khong chia se mat khau nay.",
        "en": "VssID: your one-time password is {password}. Sign in and change it at once. "
              "Do not share it with anyone.",
    },
    "password_expiry_reminder": {
        "vi": "VssID: Mat khau cua ban se het han sau {days} ngay. Hay doi mat khau tren ung "
              "dung VssID hoac Cong dich vu cong.",
        "en": "VssID: your password expires in {days}. Please change it in the VssID app or "
              "on the public service portal.",
    },
    # The online declaration (gateway/services/applications.py): what the declared phone is
    # told, whether or not an application was created; the page's answer is the same.
    "application_received": {
        "vi": "VssID: Da nhan ho so dang ky tai khoan, ma ho so {reference}. Hay mang CCCD "
              "den co quan BHXH da chon de duoc xac minh.",
        "en": "VssID: we received your account application {reference}. Bring your CCCD to "
              "the BHXH office you chose to be verified.",
    },
    "application_duplicate": {
        "vi": "VssID: Ho so dang ky khong duoc tao vi ma so BHXH hoac so CCCD da co tai khoan "
              "hoac ho so dang xu ly. Quen mat khau? Dung chuc nang Quen mat khau.",
        "en": "VssID: no application was made: the BHXH or CCCD number already has an account "
              "or an open application. Forgot your password? Use Forgot password.",
    },
}

# Parameters each template needs (and the only ones it receives).
PARAMETERS = {
    "otp": ("code", "minutes", "purpose"),
    "password_changed": (),
    "new_device_signed_in": ("device", "at"),
    "password_reset": ("password",),
    "password_expiry_reminder": ("days",),
    "application_received": ("reference",),
    "application_duplicate": (),
}

_NOT_PLAIN = re.compile(r"[^A-Za-z0-9 .,:;()'+/_-]")


def fold_ascii(value: str) -> str:
    """Vietnamese to plain ASCII ("Điện thoại của An" -> "Dien thoai cua An")."""
    value = value.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_PLAIN.sub(" ", stripped).split())


def _device(value, locale: str) -> str:
    name = fold_ascii(str(value or ""))[:DEVICE_NAME_MAX].strip()
    return name or ("khong ro" if locale == "vi" else "an unknown device")


def _time(value) -> str:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(VIETNAM_TIME).strftime("%H:%M %d/%m/%Y")


def _days(value, locale: str) -> str:
    days = int(value)
    if locale == "vi":
        return str(days)
    return "1 day" if days == 1 else f"{days} days"


def render(template: str, params: dict, locale: str = "vi") -> str:
    """The text of one message; ValueError for an unknown template or missing parameters."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown SMS template {template!r}")
    if locale not in LOCALES:
        locale = "vi"
    missing = [name for name in PARAMETERS[template] if name not in params]
    if missing:
        raise ValueError(f"SMS template {template!r} needs {', '.join(missing)}")
    index = LOCALES.index(locale)
    values: dict[str, str] = {}
    if template == "otp":
        code = str(params["code"])
        if not re.fullmatch(r"[0-9]{4,8}", code):
            raise ValueError("an OTP is 4-8 ASCII digits")
        values = {"code": code, "minutes": str(int(params["minutes"])),
                  "purpose": PURPOSES.get(params["purpose"], _GENERIC_PURPOSE)[index]}
    elif template == "new_device_signed_in":
        values = {"device": _device(params["device"], locale), "time": _time(params["at"])}
    elif template == "password_reset":
        values = {"password": str(params["password"])}
    elif template == "password_expiry_reminder":
        values = {"days": _days(params["days"], locale)}
    elif template == "application_received":
        reference = str(params["reference"])
        if not re.fullmatch(r"DK-[0-9A-Z]{4}-[0-9A-Z]{4}", reference):
            raise ValueError("a reference is DK-XXXX-XXXX")
        values = {"reference": reference}
    return TEMPLATES[template][locale].format(**values)
