"""The health-insurance card QR's texts (gateway/oidc/health_card.py), Vietnamese first,
English on request; gateway/i18n.py merges them into its one catalogue. Each refusal code is a
key under its own name, so the app and the hospital's system can show a person what to do."""

from __future__ import annotations

HEALTH_CARD = {
    "vi": {
        "health_card_not_found": "Chưa tìm thấy thẻ BHYT của bạn. Vui lòng liên hệ cơ quan "
                                 "BHXH nơi bạn tham gia bảo hiểm.",
        "device_not_active": "Thẻ BHYT chỉ hiển thị trên thiết bị đang đăng nhập tài khoản. "
                             "Vui lòng đăng nhập lại trên thiết bị này.",
        "presentation_invalid": "Mã QR thẻ BHYT không hợp lệ. Vui lòng mở lại thẻ trên ứng "
                                "dụng VssID.",
        "presentation_expired": "Mã QR thẻ BHYT đã hết hạn. Vui lòng mở lại thẻ trên ứng dụng "
                                "VssID để lấy mã mới.",
        "presentation_revoked": "Mã QR này được tạo trên thiết bị không còn đăng nhập tài "
                                "khoản. Vui lòng dùng thẻ trên thiết bị đang đăng nhập.",
        "verifier_required": "Hệ thống này chưa được đăng ký để kiểm tra thẻ BHYT.",
    },
    "en": {
        "health_card_not_found": "Your health-insurance card was not found. Please contact "
                                 "the social-insurance office you contribute through.",
        "device_not_active": "The health-insurance card is shown only on the device the "
                             "account is signed in on. Please sign in again on this device.",
        "presentation_invalid": "This health-insurance card QR code is not valid. Please open "
                                "the card again in the VssID app.",
        "presentation_expired": "This health-insurance card QR code has expired. Please open "
                                "the card again in the VssID app for a new code.",
        "presentation_revoked": "This QR code was made on a device that is no longer signed "
                                "in to the account. Please show the card on the device that is.",
        "verifier_required": "This system is not registered to verify health-insurance cards.",
    },
}
