"""The self-service phone change's texts (/account/phone), Vietnamese first, English on
request; gateway/i18n.py merges them into its one catalogue. The refusal codes of
policies/phone_change.py are keys under their own names: each tells the person what to do."""

from __future__ import annotations

PHONE_CHANGE = {
    "vi": {
        "phone_change_title": "Đổi số điện thoại đăng ký",
        "phone_change_intro": "Số điện thoại đăng ký nhận mã OTP và dùng để khôi phục tài "
                              "khoản. Bạn có thể tự đổi số khi vừa đăng nhập bằng tài khoản "
                              "VNeID mức 2 đã liên kết; mã xác nhận được gửi tới số mới.",
        "phone_change_current": "Số đang đăng ký",
        "phone_change_new_label": "Số điện thoại di động mới",
        "phone_change_submit": "Gửi mã tới số mới",
        "phone_change_needs_vneid": "Đổi số điện thoại không thể thực hiện chỉ bằng mật khẩu. "
                                    "Vui lòng đăng nhập bằng VNeID (mức 2), hoặc mang CCCD tới "
                                    "cơ quan BHXH gần nhất.",
        "phone_change_not_linked": "Tài khoản chưa liên kết với VNeID trong lần đăng nhập này. "
                                   "Vui lòng đăng nhập bằng VNeID, hoặc mang CCCD tới cơ quan "
                                   "BHXH gần nhất.",
        "phone_change_needs_level2": "Cần tài khoản VNeID định danh mức 2 để tự đổi số. Vui "
                                     "lòng nâng mức trên VNeID, hoặc mang CCCD tới cơ quan BHXH "
                                     "gần nhất.",
        "phone_change_reauth": "Để đổi số, vui lòng đăng nhập lại bằng VNeID (lần đăng nhập "
                               "phải trong vòng 10 phút).",
        "phone_change_vneid_button": "Đăng nhập bằng VNeID",
        "phone_change_rate_limited": "Bạn đã yêu cầu đổi số quá nhiều lần hôm nay. Vui lòng "
                                     "thử lại vào ngày mai.",
        "phone_change_otp_title": "Nhập mã gửi tới số mới",
        "phone_change_otp_sent": "Mã OTP đã được gửi tới số {phone}.",
        "phone_change_otp_submit": "Đổi số điện thoại",
        "phone_change_resend": "Gửi lại mã",
        "phone_change_expired": "Yêu cầu đổi số đã hết hạn. Vui lòng bắt đầu lại.",
        "phone_change_done": "Đã đổi số điện thoại đăng ký. Số cũ đã được nhắn tin báo. Bạn "
                             "đã được đăng xuất khỏi mọi thiết bị: vui lòng đăng nhập lại.",
    },
    "en": {
        "phone_change_title": "Change your registered phone number",
        "phone_change_intro": "Your registered phone receives your one-time codes and is how "
                              "your account is recovered. You can change it yourself right "
                              "after signing in with your linked level-2 VNeID account; the "
                              "confirmation code goes to the new number.",
        "phone_change_current": "Registered number",
        "phone_change_new_label": "New mobile number",
        "phone_change_submit": "Send a code to the new number",
        "phone_change_needs_vneid": "A phone number cannot be changed with a password alone. "
                                    "Please sign in with VNeID (level 2), or bring your CCCD "
                                    "to a BHXH office.",
        "phone_change_not_linked": "This sign-in does not rest on a VNeID account linked to "
                                   "yours. Please sign in with VNeID, or bring your CCCD to a "
                                   "BHXH office.",
        "phone_change_needs_level2": "Changing the number yourself needs a level-2 VNeID "
                                     "account. Please raise your level in VNeID, or bring your "
                                     "CCCD to a BHXH office.",
        "phone_change_reauth": "To change your number, please sign in with VNeID again (the "
                               "sign-in must be within the last 10 minutes).",
        "phone_change_vneid_button": "Sign in with VNeID",
        "phone_change_rate_limited": "You asked to change your number too many times today. "
                                     "Please try again tomorrow.",
        "phone_change_otp_title": "Enter the code sent to the new number",
        "phone_change_otp_sent": "A one-time code was sent to {phone}.",
        "phone_change_otp_submit": "Change the phone number",
        "phone_change_resend": "Send the code again",
        "phone_change_expired": "This phone change expired. Please start again.",
        "phone_change_done": "Your registered phone number was changed, and the old number "
                             "was told by SMS. You were signed out everywhere: please sign "
                             "in again.",
    },
}
