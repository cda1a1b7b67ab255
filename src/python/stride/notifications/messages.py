"""What Notifications tells members, in Arabic and English."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "notification.waitlist_promoted.title": {
            "en": "You're in!",
            "ar": "تم تأكيد حجزك!",
        },
        "notification.waitlist_promoted.body": {
            "en": "A spot opened up: your place on the waitlist is now a booking.",
            "ar": "توفّر مكان: أصبح مكانك في قائمة الانتظار حجزًا مؤكدًا.",
        },
        "notification.class_reminder.title": {
            "en": "Class soon",
            "ar": "حصتك قريبًا",
        },
        "notification.class_reminder.body": {
            "en": "Your class starts at {time}. See you there!",
            "ar": "تبدأ حصتك الساعة {time}. نراك هناك!",
        },
        "device.invalid_token": {
            "en": "Send the FCM registration token the app received, without spaces.",
            "ar": "أرسل رمز التسجيل من FCM الذي تلقاه التطبيق، دون مسافات.",
        },
        "device.not_found": {
            "en": "This device is not registered.",
            "ar": "هذا الجهاز غير مسجّل.",
        },
        "device.invalid_name": {
            "en": "Use a name of the form users/{user}/devices/{device}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/devices/{device}.",
        },
        "preferences.unknown_zone": {
            "en": "Use an IANA time zone, such as Asia/Riyadh.",
            "ar": "استخدم منطقة زمنية من IANA، مثل Asia/Riyadh.",
        },
        "preferences.quiet_hours": {
            "en": "Give both ends of the quiet hours as HH:MM, and not the same time.",
            "ar": "حدّد بداية ساعات الهدوء ونهايتها بالصيغة HH:MM، على ألا تتساويا.",
        },
        "preferences.invalid_name": {
            "en": "Use a name of the form users/{user}/notificationPreferences.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/notificationPreferences.",
        },
        "preferences.unknown_field": {
            "en": "Name fields of the preferences, such as time_zone or marketing_push.",
            "ar": "اذكر حقولًا من التفضيلات، مثل time_zone أو marketing_push.",
        },
        "template.invalid_kind": {
            "en": "Name a template kind in lower case, such as password_reset.",
            "ar": "اذكر نوع القالب بأحرف صغيرة، مثل password_reset.",
        },
        "template.unsupported_language": {
            "en": "Use ar or en.",
            "ar": "استخدم ar أو en.",
        },
        "template.not_found": {
            "en": "There is no such template in this version and language.",
            "ar": "لا يوجد قالب بهذا الإصدار وهذه اللغة.",
        },
        "template.missing_value": {
            "en": "The template needs a value it was not given: {detail}.",
            "ar": "يحتاج القالب إلى قيمة لم تُعطَ: {detail}.",
        },
        "notification.not_found": {
            "en": "This notification does not exist.",
            "ar": "هذا الإشعار غير موجود.",
        },
        "notification.invalid_name": {
            "en": "Use a name of the form users/{user}/notifications/{notification}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/notifications/{notification}.",
        },
    }
)
