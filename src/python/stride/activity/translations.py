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
        "workout_session.reading_outside": {
            "en": "This reading was taken outside the session's time.",
            "ar": "أُخذت هذه القراءة خارج وقت الجلسة.",
        },
        "workout_session.max_heart_rate_low": {
            "en": "A maximum heart rate is at least {min} beats per minute.",
            "ar": "لا يقل الحد الأقصى لنبض القلب عن {min} نبضة في الدقيقة.",
        },
        "workout_session.sequence_ahead": {
            "en": "The session has not reached this update yet.",
            "ar": "لم تصل الجلسة إلى هذا التحديث بعد.",
        },
        "workout_session.updates_expired": {
            "en": "The updates after this one are no longer kept: open the session again.",
            "ar": "لم تعد التحديثات التالية لهذا التحديث محفوظة: افتح الجلسة من جديد.",
        },
        "logged_set.invalid_id": {
            "en": "A set's id is a UUID chosen by the app.",
            "ar": "معرّف المجموعة هو UUID يختاره التطبيق.",
        },
        "logged_set.repeated": {
            "en": "This set appears twice in the upload.",
            "ar": "هذه المجموعة مكرّرة في الرفع.",
        },
        "program.invalid_name": {
            "en": "Use a program name of the form studios/{studio}/programs/{id}.",
            "ar": "استخدم اسم برنامج بالصيغة studios/{studio}/programs/{id}.",
        },
        "program.not_found": {
            "en": "This program does not exist.",
            "ar": "هذا البرنامج غير موجود.",
        },
        "program.past_end": {
            "en": "This week is after the program's last week.",
            "ar": "هذا الأسبوع بعد آخر أسبوع في البرنامج.",
        },
        "program.day_twice": {
            "en": "The program already has a workout on this day.",
            "ar": "في البرنامج تمرين في هذا اليوم بالفعل.",
        },
        "program.exercise_not_in_program": {
            "en": "This exercise is not in any of the program's workouts.",
            "ar": "هذا التمرين غير موجود في أي من تمارين البرنامج.",
        },
        "program_assignment.invalid_name": {
            "en": "Use a name of the form users/{user}/programAssignments/{id}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/programAssignments/{id}.",
        },
        "program_assignment.not_found": {
            "en": "This program assignment does not exist.",
            "ar": "هذا الإسناد للبرنامج غير موجود.",
        },
        "class_workout.invalid_name": {
            "en": "Use a name of the form studios/{studio}/classSessions/{id}/workout.",
            "ar": "استخدم اسمًا بالصيغة studios/{studio}/classSessions/{id}/workout.",
        },
        "class_workout.not_found": {
            "en": "This class has no workout yet.",
            "ar": "لا يوجد تمرين لهذه الحصة بعد.",
        },
        "training_summary.invalid_name": {
            "en": "Use a name of the form users/{user}/trainingSummary.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/trainingSummary.",
        },
        "activity_trends.invalid_name": {
            "en": "Use a name of the form users/{user}/activityTrends.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/activityTrends.",
        },
        "activity_trends.too_many_weeks": {
            "en": "Ask for 1 to 52 weeks.",
            "ar": "اطلب من أسبوع واحد إلى 52 أسبوعًا.",
        },
        "goal.invalid_name": {
            "en": "Use a goal name of the form users/{user}/goals/{id}.",
            "ar": "استخدم اسم هدف بالصيغة users/{user}/goals/{id}.",
        },
        "goal.not_found": {"en": "This goal does not exist.", "ar": "هذا الهدف غير موجود."},
        "goal.no_exercise": {
            "en": "A weekly goal counts every exercise: leave the exercise out.",
            "ar": "يحتسب الهدف الأسبوعي كل التمارين: لا تحدّد تمرينًا.",
        },
        "data_consent.invalid_name": {
            "en": "Use a name of the form users/{user}/dataConsent.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/dataConsent.",
        },
        "activity_data.invalid_confirmation": {
            "en": "This confirmation is not valid or has expired: start the deletion again.",
            "ar": "هذا التأكيد غير صالح أو انتهت صلاحيته: ابدأ الحذف من جديد.",
        },
        "data_consent.heart_rate_required": {
            "en": "Allow Stride to keep your heart rate first (in your privacy settings).",
            "ar": "اسمح لـ Stride أولًا بحفظ معدل نبضك (من إعدادات الخصوصية).",
        },
        "health_sample.unknown_source": {
            "en": "Health data comes from Apple Health (healthkit) or Health Connect"
            " (health_connect).",
            "ar": "تأتي البيانات الصحية من Apple Health (healthkit) أو Health Connect"
            " (health_connect).",
        },
        "health_sample.id_required": {
            "en": "A sample needs the health app's id for it.",
            "ar": "تحتاج العيّنة إلى معرّفها في تطبيق الصحة.",
        },
        "health_sample.unknown_kind": {
            "en": "This kind of measurement is not kept.",
            "ar": "لا يُحفظ هذا النوع من القياسات.",
        },
        "health_sample.unknown_unit": {
            "en": "This unit does not measure this kind of sample.",
            "ar": "هذه الوحدة لا تقيس هذا النوع من العيّنات.",
        },
        "health_sample.ends_first": {
            "en": "A sample cannot end before it starts.",
            "ar": "لا يمكن أن تنتهي العيّنة قبل أن تبدأ.",
        },
        "health_sample.too_long": {
            "en": "A sample covers at most 24 hours.",
            "ar": "لا تغطي العيّنة أكثر من 24 ساعة.",
        },
        "health_sample.in_future": {
            "en": "This sample is in the future: check the phone's clock.",
            "ar": "هذه العيّنة في المستقبل: تحقّق من ساعة الهاتف.",
        },
        "health_sample.too_old": {
            "en": "This sample is older than the health data we keep.",
            "ar": "هذه العيّنة أقدم من البيانات الصحية التي نحتفظ بها.",
        },
        "health_sample.impossible_value": {
            "en": "This value is not possible for a person: the sensor may have misread.",
            "ar": "هذه القيمة غير ممكنة لشخص: ربما أخطأ المستشعر في القراءة.",
        },
        "health_sample.repeated": {
            "en": "This sample appears twice in the upload.",
            "ar": "هذه العيّنة مكرّرة في الرفع.",
        },
        "health_sync_anchor.invalid_name": {
            "en": "Use a name of the form users/{user}/healthSyncAnchors/{source}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/healthSyncAnchors/{source}.",
        },
        "health_settings.invalid_name": {
            "en": "Use a name of the form users/{user}/healthSettings.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/healthSettings.",
        },
        "health_rollup.ends_first": {
            "en": "The range must end after it starts.",
            "ar": "يجب أن ينتهي النطاق بعد بدايته.",
        },
        "health_rollup.too_many_buckets": {
            "en": "Ask for at most 1,500 buckets: a shorter range or a coarser resolution.",
            "ar": "اطلب 1500 فترة على الأكثر: نطاقًا أقصر أو دقة أقل.",
        },
        "health_sample.no_consent": {
            "en": "Heart rate is kept only once you allow it (in your privacy settings).",
            "ar": "لا يُحفظ معدل النبض إلا بعد أن تسمح بذلك (من إعدادات الخصوصية).",
        },
        "provider_connection.invalid_name": {
            "en": "Use a connection name of the form users/{user}/providerConnections/{provider}.",
            "ar": "استخدم اسم ربط بالصيغة users/{user}/providerConnections/{provider}.",
        },
        "provider_connection.unknown_provider": {
            "en": "Stride connects to Strava, Fitbit and Garmin; it does not know this provider.",
            "ar": "يرتبط Stride بـ Strava وFitbit وGarmin؛ هذا المزوّد غير معروف له.",
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
        "activity_file.empty": {
            "en": "The file is empty.",
            "ar": "الملف فارغ.",
        },
        "activity_file.too_large": {
            "en": "Activity files are at most 1 MB.",
            "ar": "لا يتجاوز حجم ملف النشاط 1 ميغابايت.",
        },
        "activity_file.unknown_format": {
            "en": "Upload a FIT, GPX or TCX file.",
            "ar": "ارفع ملفًا بصيغة FIT أو GPX أو TCX.",
        },
        "activity_file.unreadable": {
            "en": "This file cannot be read: it may be damaged or not the format it claims.",
            "ar": "تعذّرت قراءة هذا الملف: ربما يكون تالفًا أو بغير الصيغة التي يدّعيها.",
        },
        "activity_file.no_activity": {
            "en": "This file holds no activity: no start time and no recorded points.",
            "ar": "لا يحتوي هذا الملف على نشاط: لا وقت بدء ولا نقاط مسجّلة.",
        },
        "activity_file.in_future": {
            "en": "This activity starts in the future: check the device's clock.",
            "ar": "يبدأ هذا النشاط في المستقبل: تحقّق من ساعة الجهاز.",
        },
        "activity_file.point_without_time": {
            "en": "Points without a time were left out.",
            "ar": "استُبعدت النقاط التي لا وقت لها.",
        },
        "activity_file.point_in_future": {
            "en": "Points in the future were left out.",
            "ar": "استُبعدت النقاط الواقعة في المستقبل.",
        },
        "activity_file.point_out_of_order": {
            "en": "Points earlier than the point before them were left out.",
            "ar": "استُبعدت النقاط الأسبق من النقطة التي قبلها.",
        },
        "activity_file.point_repeated": {
            "en": "Points repeating the time of the point before them were left out.",
            "ar": "استُبعدت النقاط التي تكرّر وقت النقطة التي قبلها.",
        },
        "activity_file.point_too_late": {
            "en": "Points more than 7 days after the first were left out.",
            "ar": "استُبعدت النقاط التي تلي النقطة الأولى بأكثر من 7 أيام.",
        },
        "activity_file.impossible_position": {
            "en": "Points at impossible coordinates were left out.",
            "ar": "استُبعدت النقاط ذات الإحداثيات المستحيلة.",
        },
        "activity_file.impossible_distance": {
            "en": "Points with a negative or shrinking distance were left out.",
            "ar": "استُبعدت النقاط ذات المسافة السالبة أو المتناقصة.",
        },
        "activity_file.impossible_speed": {
            "en": "Points reached faster than a person moves (a GPS jump) were left out.",
            "ar": "استُبعدت النقاط التي بُلغت أسرع مما يتحرك إنسان (قفزة في GPS).",
        },
        "activity_file.impossible_heart_rate": {
            "en": "Heart rates outside 25-250 bpm were left out.",
            "ar": "استُبعدت قراءات النبض خارج النطاق 25-250 نبضة في الدقيقة.",
        },
        "activity_route.not_found": {
            "en": "This activity has no route kept.",
            "ar": "لا يوجد مسار محفوظ لهذا النشاط.",
        },
        "activity_route.invalid_name": {
            "en": "Use a name of the form users/{user}/importedActivities/{imported_activity}"
            "/route.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/importedActivities/{imported_activity}"
            "/route.",
        },
        "webhook.verify_token_mismatch": {
            "en": "The verify token is not ours.",
            "ar": "رمز التحقق ليس رمزنا.",
        },
        "webhook.unknown_subscription": {
            "en": "This event is not for our subscription.",
            "ar": "هذا الحدث ليس لاشتراكنا.",
        },
        "webhook.signature_invalid": {
            "en": "This notification's signature is not the provider's.",
            "ar": "توقيع هذا الإشعار ليس توقيع المزوّد.",
        },
        "webhook.verification_failed": {
            "en": "This is not our verification code.",
            "ar": "هذا ليس رمز التحقق الخاص بنا.",
        },
        "webhook.unknown_client": {
            "en": "This push is not for our application.",
            "ar": "هذا الإرسال ليس لتطبيقنا.",
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
