"""Identity's translations: its user-facing texts in Arabic and English, registered on import."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "password.same_as_email": {
            "en": "The password must not be your email address.",
            "ar": "يجب ألا تكون كلمة المرور هي بريدك الإلكتروني.",
        },
        "user.email_taken": {
            "en": "An account with this email already exists.",
            "ar": "يوجد حساب بهذا البريد الإلكتروني بالفعل.",
        },
        "user.not_found": {
            "en": "This account does not exist.",
            "ar": "هذا الحساب غير موجود.",
        },
        "role.admin_is_platform_wide": {
            "en": "The admin role applies to every studio; leave the studio empty.",
            "ar": "دور المسؤول يشمل كل الاستوديوهات؛ اترك الاستوديو فارغًا.",
        },
        "field.invalid_phone": {
            "en": "Enter the phone number in international format, such as +966501234567.",
            "ar": "أدخل رقم الهاتف بالصيغة الدولية، مثل ‎+966501234567.",
        },
        "auth.invalid_credentials": {
            "en": "The email or password is incorrect.",
            "ar": "البريد الإلكتروني أو كلمة المرور غير صحيحة.",
        },
        "auth.too_many_attempts": {
            "en": "Too many failed attempts. Try again in {seconds} s.",
            "ar": "محاولات فاشلة كثيرة. حاول مجددًا بعد {seconds} ث.",
        },
        "auth.email_not_verified": {
            "en": "Confirm your email address first: open the link we sent you.",
            "ar": "أكّد بريدك الإلكتروني أولًا: افتح الرابط الذي أرسلناه إليك.",
        },
        "email.change_invalid": {
            "en": "This link is invalid or has expired. Ask for the change again.",
            "ar": "هذا الرابط غير صالح أو انتهت صلاحيته. اطلب التغيير مجددًا.",
        },
        "email.revert_invalid": {
            "en": "This link is invalid, was used already or has expired.",
            "ar": "هذا الرابط غير صالح أو استُخدم من قبل أو انتهت صلاحيته.",
        },
        "email.verification_invalid": {
            "en": "This verification link is invalid or has expired.",
            "ar": "رابط التحقق هذا غير صالح أو انتهت صلاحيته.",
        },
        "session.refresh_token_invalid": {
            "en": "Your session has ended. Sign in again.",
            "ar": "انتهت جلستك. سجّل الدخول مجددًا.",
        },
        "session.refresh_token_reused": {
            "en": "For your security this session was ended. Sign in again.",
            "ar": "حفاظًا على أمانك أُنهيت هذه الجلسة. سجّل الدخول مجددًا.",
        },
        "session.ended": {
            "en": "Your session has ended. Sign in again.",
            "ar": "انتهت جلستك. سجّل الدخول مجددًا.",
        },
        "session.not_found": {
            "en": "This session does not exist.",
            "ar": "هذه الجلسة غير موجودة.",
        },
        "session.invalid_name": {
            "en": "Use a session name of the form users/{user}/sessions/{session}.",
            "ar": "استخدم اسم جلسة بالصيغة users/{user}/sessions/{session}.",
        },
        "password_reset.invalid": {
            "en": "This reset link is invalid or has expired. Ask for a new one.",
            "ar": "رابط إعادة التعيين غير صالح أو انتهت صلاحيته. اطلب رابطًا جديدًا.",
        },
        "mfa.required": {
            "en": "Enter the code from your authenticator app.",
            "ar": "أدخل الرمز من تطبيق المصادقة.",
        },
        "mfa.invalid_code": {
            "en": "The code is incorrect or was already used.",
            "ar": "الرمز غير صحيح أو سبق استخدامه.",
        },
        "mfa.already_enrolled": {
            "en": "Two-step verification is already on for this account.",
            "ar": "التحقق بخطوتين مفعّل بالفعل لهذا الحساب.",
        },
        "mfa.not_enrolled": {
            "en": "Two-step verification is not on for this account.",
            "ar": "التحقق بخطوتين غير مفعّل لهذا الحساب.",
        },
        "mfa.reauthentication_required": {
            "en": "Enter your password to change two-step verification.",
            "ar": "أدخل كلمة المرور لتغيير إعدادات التحقق بخطوتين.",
        },
        "mfa.not_pending": {
            "en": "Start two-step verification set-up first.",
            "ar": "ابدأ إعداد التحقق بخطوتين أولًا.",
        },
        "social.token_invalid": {
            "en": "Sign-in with this provider failed. Try again.",
            "ar": "تعذّر تسجيل الدخول عبر هذا المزوّد. حاول مجددًا.",
        },
        "social.email_missing": {
            "en": "Allow access to your email address to sign in this way.",
            "ar": "اسمح بالوصول إلى بريدك الإلكتروني لتسجيل الدخول بهذه الطريقة.",
        },
        "social.email_unverified": {
            "en": "An account with this email exists. Sign in with your password to link them.",
            "ar": "يوجد حساب بهذا البريد. سجّل الدخول بكلمة المرور لربطهما.",
        },
        "social.account_unverified": {
            "en": "Confirm your email address first: open the link we sent you.",
            "ar": "أكّد بريدك الإلكتروني أولًا: افتح الرابط الذي أرسلناه إليك.",
        },
        "verify_page.title": {
            "en": "Confirm your email",
            "ar": "تأكيد البريد الإلكتروني",
        },
        "verify_page.open": {
            "en": "Hello {name}, enter your Stride password to confirm this email address.",
            "ar": "مرحبًا {name}، أدخل كلمة مرورك في Stride لتأكيد هذا البريد الإلكتروني.",
        },
        "verify_page.password": {
            "en": "Password",
            "ar": "كلمة المرور",
        },
        "verify_page.submit": {
            "en": "Confirm my email",
            "ar": "تأكيد بريدي الإلكتروني",
        },
        "verify_page.failed": {
            "en": "That did not work. Check your password; not your account? Reset its password.",
            "ar": "لم تنجح العملية. تحقق من كلمة المرور، أو أعد تعيينها إن لم يكن هذا الحساب لك.",
        },
        "verify_page.done": {
            "en": "Thank you, {name}: your email address is confirmed. Sign in to Stride now.",
            "ar": "شكرًا يا {name}، تم تأكيد بريدك الإلكتروني. سجّل الدخول إلى Stride الآن.",
        },
        "verify_page.already_verified": {
            "en": "This email address is already confirmed. Sign in to Stride.",
            "ar": "هذا البريد الإلكتروني مؤكَّد بالفعل. سجّل الدخول إلى Stride.",
        },
        "verify_page.expired": {
            "en": "This link has expired. Ask your studio to confirm your email address.",
            "ar": "انتهت صلاحية هذا الرابط. اطلب من الاستوديو تأكيد بريدك الإلكتروني.",
        },
        "verify_page.invalid": {
            "en": "This link does not work. Open the whole link from the email we sent you.",
            "ar": "هذا الرابط لا يعمل. افتح الرابط كاملًا من البريد الذي أرسلناه إليك.",
        },
    }
)
