"""The staff console's texts for the VNeID link review queue (/staff/links), Vietnamese first,
English on request; gateway/i18n.py merges them into its one catalogue. Keys start with
``staff_links_``; ``staff_links_error_<code>`` says what a refused resolution's code means to
the clerk (a code without its own text gets ``staff_links_error_details``), and
``staff_links_why_<reason>`` what sent the case to review (policies/linking.py REVIEW)."""

from __future__ import annotations

LINKS = {
    "vi": {
        "staff_nav_links": "Liên kết VNeID",
        "staff_links_title": "Liên kết VNeID chờ xử lý",
        "staff_links_intro": "Những lần đăng nhập bằng VNeID mà hệ thống không tự liên kết "
                             "được. Xem cả hai phía, rồi liên kết với một tài khoản hoặc từ "
                             "chối, kèm lý do.",
        "staff_links_none": "Không có trường hợp nào chờ xử lý.",
        "staff_links_count": "{count} trường hợp chờ xử lý, cũ nhất trước.",
        "staff_links_case": "Trường hợp",
        "staff_links_opened_at": "Mở lúc",
        "staff_links_why": "Lý do chuyển xử lý",
        "staff_links_candidates_count": "Tài khoản liên quan",
        "staff_links_case_title": "Trường hợp liên kết VNeID số {id}",
        "staff_links_status": "Trạng thái",
        "staff_links_status_open": "Chờ xử lý",
        "staff_links_status_resolved": "Đã xử lý",
        "staff_links_vneid_side": "Danh tính VNeID",
        "staff_links_id_number": "Số định danh (CCCD)",
        "staff_links_full_name": "Họ và tên",
        "staff_links_birthdate": "Ngày sinh",
        "staff_links_sex": "Giới tính",
        "staff_links_phone": "Số điện thoại (VNeID)",
        "staff_links_level": "Mức định danh",
        "staff_links_account_side": "Tài khoản VssID liên quan",
        "staff_links_no_candidates": "Không có tài khoản nào.",
        "staff_links_account": "Mã số BHXH",
        "staff_links_account_missing": "Tài khoản này không còn tồn tại.",
        "staff_links_account_status": "Trạng thái tài khoản",
        "staff_links_population_verified": "Đã xác thực với CSDL dân cư",
        "staff_links_agrees": "Khớp",
        "staff_links_disagrees": "Không khớp",
        "staff_links_yes": "Có",
        "staff_links_no": "Không",
        "staff_links_linked": "Đã liên kết VNeID",
        "staff_links_linked_this": "với danh tính này",
        "staff_links_linked_other": "với một danh tính VNeID khác",
        "staff_links_decide_title": "Xử lý",
        "staff_links_decide_intro": "Liên kết danh tính VNeID này với tài khoản có mã số BHXH "
                                    "nhập dưới đây (tài khoản sẽ được nhắn tin báo), hoặc từ "
                                    "chối (không liên kết). Lý do được ghi vào nhật ký kiểm "
                                    "toán.",
        "staff_links_decision_link": "Liên kết với tài khoản",
        "staff_links_decision_reject": "Từ chối, không liên kết",
        "staff_links_bhxh_label": "Mã số BHXH của tài khoản (10 chữ số)",
        "staff_links_reason_label": "Lý do (bắt buộc, ghi vào nhật ký)",
        "staff_links_submit": "Xác nhận",
        "staff_links_done_linked": "Đã liên kết danh tính VNeID với tài khoản.",
        "staff_links_done_rejected": "Đã từ chối: không liên kết.",
        "staff_links_resolution": "Kết quả",
        "staff_links_resolution_linked": "Đã liên kết với tài khoản",
        "staff_links_resolution_rejected": "Đã từ chối",
        "staff_links_resolved_by": "Người xử lý",
        "staff_links_resolved_at": "Xử lý lúc",
        "staff_links_back": "Về danh sách chờ xử lý",
        "staff_links_not_found": "Không có trường hợp này.",
        "staff_links_why_several_candidates": "Nhiều tài khoản có cùng số CCCD",
        "staff_links_why_linked_elsewhere": "Tài khoản đã liên kết với danh tính VNeID khác",
        "staff_links_why_name_mismatch": "Họ tên không khớp",
        "staff_links_why_birthdate_mismatch": "Ngày sinh không khớp",
        "staff_links_why_name_and_birthdate_mismatch": "Họ tên và ngày sinh không khớp",
        "staff_links_why_register_number_in_use": "Mã số BHXH theo sổ đăng ký đã có tài khoản "
                                                  "không mang số CCCD này",
        "staff_links_error_details": "Không thực hiện được (mã: {code}).",
        "staff_links_error_reason_required": "Vui lòng ghi lý do.",
        "staff_links_error_reason_too_long": "Lý do quá dài (tối đa 2000 ký tự).",
        "staff_links_error_account_or_reject": "Chọn liên kết với một tài khoản (nhập mã số "
                                               "BHXH) hoặc từ chối.",
        "staff_links_error_unknown_account": "Không có tài khoản với mã số BHXH này.",
        "staff_links_error_case_not_open": "Trường hợp này đã được xử lý (có thể bởi cán bộ "
                                           "khác vừa xong).",
        "staff_links_error_account_already_linked": "Tài khoản này đã liên kết với một danh "
                                                    "tính VNeID khác: không liên kết được.",
        "staff_links_error_subject_already_linked": "Danh tính VNeID này đã liên kết với một "
                                                    "tài khoản khác.",
        "staff_links_error_csrf_failed": "Phiên làm việc đã hết hạn. Vui lòng thử lại.",
    },
    "en": {
        "staff_nav_links": "VNeID links",
        "staff_links_title": "VNeID links awaiting review",
        "staff_links_intro": "VNeID sign-ins the system could not link on its own. Look at "
                             "both sides, then link to an account or reject, with a reason.",
        "staff_links_none": "No case is waiting.",
        "staff_links_count": "{count} cases waiting, oldest first.",
        "staff_links_case": "Case",
        "staff_links_opened_at": "Opened",
        "staff_links_why": "Why it needs review",
        "staff_links_candidates_count": "Accounts concerned",
        "staff_links_case_title": "VNeID link case {id}",
        "staff_links_status": "Status",
        "staff_links_status_open": "Waiting",
        "staff_links_status_resolved": "Resolved",
        "staff_links_vneid_side": "The VNeID identity",
        "staff_links_id_number": "Identity number (CCCD)",
        "staff_links_full_name": "Full name",
        "staff_links_birthdate": "Date of birth",
        "staff_links_sex": "Sex",
        "staff_links_phone": "Phone (VNeID)",
        "staff_links_level": "Identity level",
        "staff_links_account_side": "VssID accounts concerned",
        "staff_links_no_candidates": "None.",
        "staff_links_account": "Social-insurance number",
        "staff_links_account_missing": "This account no longer exists.",
        "staff_links_account_status": "Account status",
        "staff_links_population_verified": "Verified against the population database",
        "staff_links_agrees": "Agrees",
        "staff_links_disagrees": "Differs",
        "staff_links_yes": "Yes",
        "staff_links_no": "No",
        "staff_links_linked": "Linked to VNeID",
        "staff_links_linked_this": "to this identity",
        "staff_links_linked_other": "to another VNeID identity",
        "staff_links_decide_title": "Decide",
        "staff_links_decide_intro": "Link this VNeID identity to the account whose "
                                    "social-insurance number you type below (the account's "
                                    "phone is told by SMS), or reject it (no link). The "
                                    "reason goes into the audit trail.",
        "staff_links_decision_link": "Link to an account",
        "staff_links_decision_reject": "Reject, link nothing",
        "staff_links_bhxh_label": "The account's social-insurance number (10 digits)",
        "staff_links_reason_label": "Reason (required, kept in the audit trail)",
        "staff_links_submit": "Confirm",
        "staff_links_done_linked": "The VNeID identity was linked to the account.",
        "staff_links_done_rejected": "Rejected: nothing was linked.",
        "staff_links_resolution": "Outcome",
        "staff_links_resolution_linked": "Linked to account",
        "staff_links_resolution_rejected": "Rejected",
        "staff_links_resolved_by": "Resolved by",
        "staff_links_resolved_at": "Resolved at",
        "staff_links_back": "Back to the queue",
        "staff_links_not_found": "There is no such case.",
        "staff_links_why_several_candidates": "Several accounts have this CCCD",
        "staff_links_why_linked_elsewhere": "The account is linked to another VNeID identity",
        "staff_links_why_name_mismatch": "The names differ",
        "staff_links_why_birthdate_mismatch": "The birth dates differ",
        "staff_links_why_name_and_birthdate_mismatch": "The names and birth dates differ",
        "staff_links_why_register_number_in_use": "The register's social-insurance number "
                                                  "has an account without this CCCD",
        "staff_links_error_details": "Not done (code: {code}).",
        "staff_links_error_reason_required": "Please give a reason.",
        "staff_links_error_reason_too_long": "The reason is too long (2000 characters at "
                                             "most).",
        "staff_links_error_account_or_reject": "Choose to link to an account (type its "
                                               "social-insurance number) or to reject.",
        "staff_links_error_unknown_account": "There is no account with this social-insurance "
                                             "number.",
        "staff_links_error_case_not_open": "This case is resolved already (perhaps by another "
                                           "staff member just now).",
        "staff_links_error_account_already_linked": "This account is linked to another VNeID "
                                                    "identity: it cannot be linked.",
        "staff_links_error_subject_already_linked": "This VNeID identity is linked to another "
                                                    "account.",
        "staff_links_error_csrf_failed": "Your session expired. Please try again.",
    },
}
