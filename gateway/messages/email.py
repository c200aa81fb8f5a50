"""E-mail texts: one template per kind of message, a subject and a plain-text body, in
Vietnamese and English.

Unlike SMS (gateway/messages/sms.py), e-mail keeps the Vietnamese diacritics: messages go out
as UTF-8 (providers/email.py), so nothing is gained by folding them. What a message may carry
follows the SMS rule: no more than its purpose needs, and never a link (a phishing mail cannot
look like ours by copying one).
"""

from __future__ import annotations

LOCALES = ("vi", "en")

TEMPLATES = {
    "test": {
        "vi": ("VssID: Thư kiểm tra cấu hình gửi thư điện tử",
               "Đây là thư kiểm tra do quản trị viên cổng định danh VssID gửi để xác nhận "
               "cấu hình gửi thư điện tử hoạt động đúng.\n\n"
               "Bạn không cần làm gì thêm. Nếu bạn không mong đợi thư này, hãy bỏ qua nó."),
        "en": ("VssID: e-mail configuration test",
               "This is a test message sent by an administrator of the VssID identity "
               "gateway to check that sending e-mail works.\n\n"
               "There is nothing for you to do. If you did not expect it, ignore it."),
    },
}

# Parameters each template needs (and the only ones it receives).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "test": (),
}


def render(template: str, params: dict, locale: str = "vi") -> tuple[str, str]:
    """``(subject, text)`` of one message; ValueError for an unknown template or missing
    parameters."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown e-mail template {template!r}")
    if locale not in LOCALES:
        locale = "vi"
    missing = [name for name in PARAMETERS[template] if name not in params]
    if missing:
        raise ValueError(f"e-mail template {template!r} needs {', '.join(missing)}")
    values = {name: str(params[name]) for name in PARAMETERS[template]}
    subject, text = TEMPLATES[template][locale]
    return subject.format(**values), text.format(**values)
