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

Two messages carry more, because they are what the person asked for: the approval of an
application says the login name (the social-insurance number) and the one-time password, and
nothing else personal; a rejection says the application's reference, the coded reason and the
clerk's own words, folded to ASCII and shortened so the whole text still fits one part (the
e-mail, when there is one, carries them in full).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from gateway.messages.reasons import reason_text

LOCALES = ("vi", "en")
SMS_LENGTH = 160  # one GSM 7-bit part
# Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset needs no tz data.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
DEVICE_NAME_MAX = 30

# What an OTP is for, as said in the message; an unknown purpose gets the generic wording.
PURPOSES = {
    "login": ("dang nhap", "sign-in"),
    "takeover": ("dang nhap tren thiet bi moi", "sign-in on a new device"),
    "vneid_link": ("lien ket tai khoan VNeID", "linking your VNeID account"),
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
    "account_issued": {
        "vi": "VssID: Tai khoan da duoc cap. Ten dang nhap (ma so BHXH): {bhxh}. Mat khau dung "
              "mot lan: {password}, het han sau {days} ngay. Hay doi khi dang nhap.",
        "en": "VssID: your account is issued. Username (social insurance no.): {bhxh}. "
              "One-time password: {password}, valid {days} days; change it at first sign-in.",
    },
    "application_rejected": {
        "vi": "VssID: Ho so {reference} bi tu choi: {reason}.{note} Hay sua va nop lai.",
        "en": "VssID: application {reference} was rejected: {reason}.{note} Please correct "
              "and resubmit.",
    },
    # To the OLD number when staff moved the account to a new one at a BHXH counter: whoever
    # holds the old SIM learns it no longer receives the account's codes, and the owner who
    # did not ask for it knows to act. No number, no name: the old SIM may be in other hands.
    "phone_changed": {
        "vi": "VssID: So dien thoai nhan ma OTP cua tai khoan da duoc doi tai co quan BHXH "
              "luc {time}. Neu khong phai ban yeu cau, hay lien he BHXH ngay.",
        "en": "VssID: the phone number receiving your account's codes was changed at a BHXH "
              "office at {time}. If you did not ask for this, contact BHXH at once.",
    },
    "vneid_linked": {
        "vi": "VssID: Tai khoan cua ban vua duoc lien ket voi tai khoan VNeID luc {time}. Neu "
              "khong phai ban, hay lien he co quan BHXH ngay.",
        "en": "VssID: your account was linked to a VNeID account at {time} (Vietnam time). If "
              "this was not you, contact BHXH at once.",
    },
    "vneid_account_created": {
        "vi": "VssID: Tai khoan VssID cua ban vua duoc tao tu VNeID luc {time}. Hay dang nhap "
              "bang VNeID. Neu khong phai ban, hay lien he co quan BHXH.",
        "en": "VssID: a VssID account was created for you from VNeID at {time} (Vietnam "
              "time). Sign in with VNeID. If this was not you, contact BHXH.",
    },
    "vneid_unlinked": {
        "vi": "VssID: Lien ket VNeID cua tai khoan ban da duoc go bo; cac phien dang nhap da "
              "ket thuc. Neu ban khong yeu cau, hay lien he co quan BHXH.",
        "en": "VssID: the VNeID link of your account was removed and its sign-ins ended. If "
              "you did not ask for this, contact BHXH.",
    },
    # A passkey added to or removed from the account (gateway/services/passkeys.py): a
    # passkey signs in without the password, so one added by someone else must not go unseen.
    "passkey_added": {
        "vi": "VssID: Mot khoa truy cap (passkey) vua duoc them vao tai khoan cua ban luc "
              "{time}. Neu khong phai ban, hay doi mat khau va lien he BHXH ngay.",
        "en": "VssID: a passkey was added to your account at {time} (Vietnam time). If this "
              "was not you, change your password and contact BHXH at once.",
    },
    "passkey_removed": {
        "vi": "VssID: Mot khoa truy cap (passkey) vua bi go khoi tai khoan cua ban luc "
              "{time}. Neu khong phai ban, hay doi mat khau va lien he BHXH ngay.",
        "en": "VssID: a passkey was removed from your account at {time} (Vietnam time). If "
              "this was not you, change your password and contact BHXH at once.",
    },
    "passkey_disabled": {
        "vi": "VssID: Mot khoa truy cap (passkey) cua tai khoan ban bi khoa luc {time} vi co "
              "dau hieu bi sao chep. Hay go khoa do va doi mat khau ngay.",
        "en": "VssID: a passkey of your account was disabled at {time} (Vietnam time): it "
              "seems to have been copied. Remove it and change your password now.",
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
    "account_issued": ("bhxh", "password", "days"),
    "application_rejected": ("reference", "reason_code", "note"),
    "phone_changed": ("at",),
    "vneid_linked": ("at",),
    "vneid_account_created": ("at",),
    "vneid_unlinked": (),
    "passkey_added": ("at",),
    "passkey_removed": ("at",),
    "passkey_disabled": ("at",),
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


def _note(value, room: int) -> str:
    """The clerk's words, folded to ASCII and cut to ``room`` characters (with "..." when
    cut), as " <words>" after the reason; empty when there is no room or nothing to say."""
    words = fold_ascii(str(value or ""))
    if not words or room < 8:
        return ""
    if len(words) + 1 > room:
        words = words[: room - 4].rstrip() + "..."
    return " " + words


def _rejected(params: dict, locale: str) -> str:
    template = TEMPLATES["application_rejected"][locale]
    values = {"reference": fold_ascii(str(params["reference"]))[:20],
              "reason": fold_ascii(reason_text(str(params["reason_code"]), locale)),
              "note": ""}
    room = SMS_LENGTH - len(template.format(**values))
    values["note"] = _note(params["note"], room)
    return template.format(**values)


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
    elif template in ("phone_changed", "vneid_linked", "vneid_account_created",
                      "passkey_added", "passkey_removed", "passkey_disabled"):
        values = {"time": _time(params["at"])}
    elif template == "password_reset":
        values = {"password": str(params["password"])}
    elif template == "password_expiry_reminder":
        values = {"days": _days(params["days"], locale)}
    elif template == "account_issued":
        bhxh = str(params["bhxh"])
        if not re.fullmatch(r"[0-9]{10}", bhxh):
            raise ValueError("a social-insurance number is 10 ASCII digits")
        values = {"bhxh": bhxh, "password": fold_ascii(str(params["password"])),
                  "days": str(int(params["days"]))}
    elif template == "application_rejected":
        return _rejected(params, locale)
    elif template == "application_received":
        reference = str(params["reference"])
        if not re.fullmatch(r"DK-[0-9A-Z]{4}-[0-9A-Z]{4}", reference):
            raise ValueError("a reference is DK-XXXX-XXXX")
        values = {"reference": reference}
    return TEMPLATES[template][locale].format(**values)
