"""Activity's translations: its user-facing texts in Arabic and English, registered on import."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "exercise.invalid_slug": {
            "en": "Use lower-case letters, digits and dashes, such as sandbag-clean.",
            "ar": "استخدم أحرفًا إنجليزية صغيرة وأرقامًا وشرطات، مثل sandbag-clean.",
        },
        "exercise.invalid_name": {
            "en": "Use an exercise name of the form exercises/{id} or "
            "studios/{studio}/exercises/{id}.",
            "ar": "استخدم اسم تمرين بالصيغة exercises/{id} أو studios/{studio}/exercises/{id}.",
        },
        "exercise.exists": {
            "en": "The studio already has an exercise with this id.",
            "ar": "لدى الاستوديو تمرين بهذا المعرّف بالفعل.",
        },
        "exercise.not_found": {
            "en": "This exercise does not exist.",
            "ar": "هذا التمرين غير موجود.",
        },
        "exercise.muscle_twice": {
            "en": "A muscle is either primary or secondary, not both.",
            "ar": "العضلة إما أساسية أو ثانوية، لا الاثنتان معًا.",
        },
        "workout_template.invalid_name": {
            "en": "Use a workout name of the form studios/{studio}/workoutTemplates/{id}.",
            "ar": "استخدم اسم تمرين مكتوب بالصيغة studios/{studio}/workoutTemplates/{id}.",
        },
        "workout_template.not_found": {
            "en": "This workout does not exist.",
            "ar": "هذا التمرين المكتوب غير موجود.",
        },
        "workout_template.needs_clock": {
            "en": "An AMRAP or EMOM block needs a time cap.",
            "ar": "تحتاج كتلة AMRAP أو EMOM إلى حدّ زمني.",
        },
        "workout_template.superset_needs_two": {
            "en": "A superset alternates at least two exercises.",
            "ar": "تتناوب السوبرسِت بين تمرينين على الأقل.",
        },
        "workout_template.reps_range": {
            "en": "The most reps cannot be fewer than the least.",
            "ar": "لا يمكن أن يقل الحد الأعلى للتكرارات عن الحد الأدنى.",
        },
        "workout_template.one_load": {
            "en": "Give the load in kilograms or as a percentage of the one-rep max, not both.",
            "ar": "حدّد الحمل بالكيلوغرام أو كنسبة من أقصى تكرار واحد، لا الاثنين معًا.",
        },
        "workout_template.one_effort": {
            "en": "Give the effort as reps in reserve or as RPE, not both.",
            "ar": "حدّد الجهد بالتكرارات المتبقية أو بمقياس RPE، لا الاثنين معًا.",
        },
        "workout_session.invalid_name": {
            "en": "Use a session name of the form users/{user}/workoutSessions/{uuid}.",
            "ar": "استخدم اسم جلسة بالصيغة users/{user}/workoutSessions/{uuid}.",
        },
        "workout_session.invalid_class": {
            "en": "Use a class name of the form studios/{studio}/classSessions/{id}.",
            "ar": "استخدم اسم حصة بالصيغة studios/{studio}/classSessions/{id}.",
        },
        "workout_session.not_found": {
            "en": "This workout session does not exist.",
            "ar": "جلسة التمرين هذه غير موجودة.",
        },
        "workout_session.in_future": {
            "en": "This time is in the future: check the phone's clock.",
            "ar": "هذا الوقت في المستقبل: تحقّق من ساعة الهاتف.",
        },
        "workout_session.end_required": {
            "en": "A completed session needs its end time.",
            "ar": "تحتاج الجلسة المكتملة إلى وقت انتهائها.",
        },
        "workout_session.ends_first": {
            "en": "A session cannot end before it starts.",
            "ar": "لا يمكن أن تنتهي الجلسة قبل أن تبدأ.",
        },
        "workout_session.too_long": {
            "en": "A session lasts at most 24 hours.",
            "ar": "لا تتجاوز مدة الجلسة 24 ساعة.",
        },
        "logged_set.invalid_id": {
            "en": "A set's id is a UUID chosen by the app.",
            "ar": "معرّف المجموعة هو UUID يختاره التطبيق.",
        },
        "logged_set.repeated": {
            "en": "This set appears twice in the upload.",
            "ar": "هذه المجموعة مكرّرة في الرفع.",
        },
        "provider_connection.invalid_name": {
            "en": "Use a connection name of the form users/{user}/providerConnections/strava.",
            "ar": "استخدم اسم ربط بالصيغة users/{user}/providerConnections/strava.",
        },
        "provider_connection.unknown_provider": {
            "en": "Stride connects to Strava; this provider is not one it knows.",
            "ar": "يرتبط Stride بتطبيق Strava؛ هذا المزوّد غير معروف له.",
        },
        "provider_connection.not_offered": {
            "en": "Connecting this provider is not available right now.",
            "ar": "الربط بهذا المزوّد غير متاح حاليًا.",
        },
        "provider_connection.not_found": {
            "en": "This provider is not connected.",
            "ar": "هذا المزوّد غير مربوط.",
        },
        "provider_connection.state_invalid": {
            "en": "This connection link expired or was already used: start connecting again.",
            "ar": "انتهت صلاحية رابط الربط هذا أو استُخدم من قبل: ابدأ الربط من جديد.",
        },
        "provider_connection.scope_missing": {
            "en": "Allow Stride to read your activities to connect.",
            "ar": "اسمح لـ Stride بقراءة أنشطتك لإتمام الربط.",
        },
        "provider_connection.code_invalid": {
            "en": "The provider did not accept this approval: start connecting again.",
            "ar": "لم يقبل المزوّد هذه الموافقة: ابدأ الربط من جديد.",
        },
        "provider_connection.unavailable": {
            "en": "The provider cannot be reached right now: try again in a moment.",
            "ar": "تعذّر الوصول إلى المزوّد الآن: حاول مرة أخرى بعد قليل.",
        },
        "webhook.verify_token_mismatch": {
            "en": "The verify token is not ours.",
            "ar": "رمز التحقق ليس رمزنا.",
        },
        "webhook.unknown_subscription": {
            "en": "This event is not for our subscription.",
            "ar": "هذا الحدث ليس لاشتراكنا.",
        },
        "webhook.unavailable": {
            "en": "The event cannot be queued right now: send it again.",
            "ar": "تعذّر وضع الحدث في قائمة الانتظار الآن: أرسله مرة أخرى.",
        },
        "strava.invalid_event": {
            "en": "This is not a Strava webhook event.",
            "ar": "هذا ليس حدث webhook من Strava.",
        },
    }
)
