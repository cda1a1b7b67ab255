"""Identity's user-facing messages in Arabic and English."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "password.same_as_email": {
            "en": "The password must not be your email address.",
            "ar": "يجب ألا تكون كلمة المرور هي بريدك الإلكتروني.",
        },
        "field.invalid_time_zone": {
            "en": "Choose a valid time zone, such as Asia/Riyadh.",
            "ar": "اختر منطقة زمنية صالحة، مثل Asia/Riyadh.",
        },
        "user.email_taken": {
            "en": "An account with this email already exists.",
            "ar": "يوجد حساب بهذا البريد الإلكتروني بالفعل.",
        },
        "user.not_found": {
            "en": "This account does not exist.",
            "ar": "هذا الحساب غير موجود.",
        },
        "user.invalid_name": {
            "en": "Use a user name of the form users/{id}.",
            "ar": "استخدم اسم مستخدم بالصيغة users/{id}.",
        },
    }
)
