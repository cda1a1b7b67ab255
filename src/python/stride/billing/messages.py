"""Billing's user-facing messages in Arabic and English."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "entitlement.expires_first": {
            "en": "It must expire after it starts.",
            "ar": "يجب أن ينتهي بعد أن يبدأ.",
        },
        "entitlement.invalid_kind": {
            "en": "Choose a membership or a class pack.",
            "ar": "اختر عضوية أو باقة حصص.",
        },
        "hold.not_found": {"en": "This hold does not exist.", "ar": "هذا الحجز المؤقت غير موجود."},
        "hold.invalid_name": {
            "en": "Use a name of the form users/{user}/holds/{booking}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/holds/{booking}.",
        },
        "booking.invalid_name": {
            "en": "Use a booking name of the form users/{user}/bookings/{id}.",
            "ar": "استخدم اسم حجز بالصيغة users/{user}/bookings/{id}.",
        },
    }
)
