"""Scheduling's translations: its user-facing texts in Arabic and English, registered on import."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "studio.invalid_slug": {
            "en": "Use lower-case letters, digits and dashes, such as riyadh-olaya.",
            "ar": "استخدم أحرفًا إنجليزية صغيرة وأرقامًا وشرطات، مثل riyadh-olaya.",
        },
        "studio.exists": {
            "en": "A studio with this id already exists.",
            "ar": "يوجد استوديو بهذا المعرّف بالفعل.",
        },
        "studio.not_found": {"en": "This studio does not exist.", "ar": "هذا الاستوديو غير موجود."},
        "room.not_found": {"en": "This room does not exist.", "ar": "هذه القاعة غير موجودة."},
        "room.invalid_name": {
            "en": "Use a room name of the form studios/{studio}/rooms/{room}.",
            "ar": "استخدم اسم قاعة بالصيغة studios/{studio}/rooms/{room}.",
        },
        "class_type.not_found": {
            "en": "This class type does not exist.",
            "ar": "نوع الحصة هذا غير موجود.",
        },
        "class_type.invalid_name": {
            "en": "Use a class type name of the form studios/{studio}/classTypes/{id}.",
            "ar": "استخدم اسم نوع حصة بالصيغة studios/{studio}/classTypes/{id}.",
        },
        "class.not_found": {"en": "This class does not exist.", "ar": "هذه الحصة غير موجودة."},
        "class.invalid_name": {
            "en": "Use a class name of the form studios/{studio}/classSessions/{id}.",
            "ar": "استخدم اسم حصة بالصيغة studios/{studio}/classSessions/{id}.",
        },
        "class.start_in_past": {
            "en": "A class must start in the future.",
            "ar": "يجب أن تبدأ الحصة في المستقبل.",
        },
        "schedule.invalid_rule": {
            "en": "This is not a valid recurrence rule (RFC 5545), such as FREQ=WEEKLY;BYDAY=MO.",
            "ar": "هذه ليست قاعدة تكرار صالحة (RFC 5545)، مثل FREQ=WEEKLY;BYDAY=MO.",
        },
        "schedule.daily_or_weekly": {
            "en": "Classes repeat daily or weekly.",
            "ar": "تتكرر الحصص يوميًا أو أسبوعيًا.",
        },
        "schedule.local_time_only": {
            "en": "Give the studio's local time without an offset, such as 2026-12-07T07:00.",
            "ar": "أدخل التوقيت المحلي للاستوديو دون فرق توقيت، مثل 2026-12-07T07:00.",
        },
        "class.capacity_below_bookings": {
            "en": "{booked} members already hold a spot: the capacity cannot go below that.",
            "ar": "يحجز {booked} أعضاء مقاعد بالفعل: لا يمكن أن تقل السعة عن ذلك.",
        },
        "instructor.unavailable": {
            "en": "The instructor does not teach at that time.",
            "ar": "المدرّب لا يدرّس في هذا الوقت.",
        },
        "instructor.busy": {
            "en": "The instructor teaches another class at that time.",
            "ar": "المدرّب يدرّس حصة أخرى في هذا الوقت.",
        },
        "availability.end_before_start": {
            "en": "The end must be after the start.",
            "ar": "يجب أن تكون النهاية بعد البداية.",
        },
        "instructor.invalid_name": {
            "en": "Use a name of the form studios/{studio}/instructors/{user}/availability.",
            "ar": "استخدم اسمًا بالصيغة studios/{studio}/instructors/{user}/availability.",
        },
        "room.invalid_spots": {
            "en": "Spot labels must be unique and at most 16 characters.",
            "ar": "يجب أن تكون تسميات الأماكن فريدة وألا تتجاوز 16 حرفًا.",
        },
        "room.capacity_is_spot_count": {
            "en": "With a spot map the capacity is the number of spots.",
            "ar": "عند وجود خريطة أماكن تكون السعة هي عدد الأماكن.",
        },
        "spot.no_map": {
            "en": "This room has no numbered spots to choose from.",
            "ar": "لا توجد في هذه القاعة أماكن مرقّمة للاختيار منها.",
        },
        "spot.unknown": {
            "en": "There is no such spot in this room.",
            "ar": "لا يوجد مكان بهذا الاسم في هذه القاعة.",
        },
        "spot.taken": {
            "en": "Spot {spot} is taken: choose another or leave it to us.",
            "ar": "المكان {spot} محجوز: اختر مكانًا آخر أو اتركه لنا.",
        },
        "class.cancelled": {
            "en": "This class was cancelled by the studio.",
            "ar": "ألغى الاستوديو هذه الحصة.",
        },
        "booking.class_started": {
            "en": "This class has already started.",
            "ar": "بدأت هذه الحصة بالفعل.",
        },
        "booking.not_open": {
            "en": "Booking opens {days} days before the class.",
            "ar": "يبدأ الحجز قبل الحصة بـ{days} أيام.",
        },
        "booking.closed": {
            "en": "Booking for this class has closed.",
            "ar": "أُغلق الحجز لهذه الحصة.",
        },
        "booking.already_booked": {
            "en": "You already have a booking for this class.",
            "ar": "لديك حجز لهذه الحصة بالفعل.",
        },
        "booking.too_many": {
            "en": "You can hold at most {max} upcoming bookings.",
            "ar": "يمكنك الاحتفاظ بـ{max} حجوزات قادمة كحد أقصى.",
        },
        "booking.not_active": {
            "en": "This booking is already cancelled.",
            "ar": "هذا الحجز ملغى بالفعل.",
        },
        "check_in.invalid_code": {
            "en": "This code is not a Stride check-in code.",
            "ar": "هذا الرمز ليس رمز تسجيل حضور من Stride.",
        },
        "check_in.code_expired": {
            "en": "This code has expired: open the booking in the app to show a fresh one.",
            "ar": "انتهت صلاحية هذا الرمز: افتح الحجز في التطبيق لعرض رمز جديد.",
        },
        "check_in.closed": {
            "en": "Check-in opens an hour before the class and closes when it ends.",
            "ar": "يبدأ تسجيل الحضور قبل الحصة بساعة وينتهي بانتهائها.",
        },
        "check_in.not_confirmed": {
            "en": "Only a confirmed booking can be checked in.",
            "ar": "لا يمكن تسجيل الحضور إلا لحجز مؤكد.",
        },
        "check_in.other_studio": {
            "en": "This booking is for a class at another studio.",
            "ar": "هذا الحجز لحصة في استوديو آخر.",
        },
        "booking.not_found": {"en": "This booking does not exist.", "ar": "هذا الحجز غير موجود."},
        "booking.invalid_name": {
            "en": "Use a booking name of the form users/{user}/bookings/{id}.",
            "ar": "استخدم اسم حجز بالصيغة users/{user}/bookings/{id}.",
        },
    }
)
