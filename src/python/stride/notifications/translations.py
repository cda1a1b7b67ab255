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
        "notification.personal_record_set.title": {
            "en": "New personal record!",
            "ar": "رقم قياسي شخصي جديد!",
        },
        "notification.personal_record_set.body": {
            "en": "{exercise_en}: {weight} kg × {reps}, your best yet.",
            "ar": "{exercise_ar}: {weight} كغ × {reps}، أفضل ما حققته حتى الآن.",
        },
        "notification.personal_record_best_effort.title": {
            "en": "New best effort!",
            "ar": "أفضل أداء جديد!",
        },
        "notification.personal_record_best_effort.body": {
            "en": "Your fastest {distance_en} yet: {time}.",
            "ar": "أسرع {distance_ar} لك حتى الآن: {time}.",
        },
        "notification.streak_extended.title": {
            "en": "{days} days in a row!",
            "ar": "{days} أيام متتالية!",
        },
        "notification.streak_extended.body": {
            "en": "You've trained {days} days running. Keep it going.",
            "ar": "تمرّنت {days} أيام متتالية. واصل على هذا النحو.",
        },
        "notification.streak_broken.title": {
            "en": "Your streak ended",
            "ar": "انتهت سلسلة تمارينك",
        },
        "notification.streak_broken.body": {
            "en": "Your {days}-day streak ended. Train today to start a new one.",
            "ar": "انتهت سلسلة تمارينك التي دامت {days} أيام. تمرّن اليوم لتبدأ سلسلة جديدة.",
        },
        "notification.goal_achieved_one_rep_max.title": {
            "en": "Goal reached!",
            "ar": "حققت هدفك!",
        },
        "notification.goal_achieved_one_rep_max.body": {
            "en": "{exercise_en}: an estimated one-rep max of {target} kg.",
            "ar": "{exercise_ar}: أقصى تكرار واحد مقدّر {target} كغ.",
        },
        "notification.goal_achieved_weekly_sessions.title": {
            "en": "Goal reached!",
            "ar": "حققت هدفك!",
        },
        "notification.goal_achieved_weekly_sessions.body": {
            "en": "{target} sessions this week. Well done.",
            "ar": "{target} جلسات تمرين هذا الأسبوع. أحسنت.",
        },
        "notification.goal_achieved_weekly_volume.title": {
            "en": "Goal reached!",
            "ar": "حققت هدفك!",
        },
        "notification.goal_achieved_weekly_volume.body": {
            "en": "{target} kg lifted this week. Well done.",
            "ar": "رفعت {target} كغ هذا الأسبوع. أحسنت.",
        },
        "notification.class_reminder.title": {
            "en": "Class soon",
            "ar": "حصتك قريبًا",
        },
        "notification.class_reminder.body": {
            "en": "Your class starts at {time}. See you there!",
            "ar": "تبدأ حصتك الساعة {time}. نراك هناك!",
        },
        "notification.class_cancelled.title": {
            "en": "Class cancelled",
            "ar": "أُلغيت الحصة",
        },
        "notification.class_cancelled.body": {
            "en": "The studio cancelled your class on {date} at {time}. Your booking is cancelled.",
            "ar": "ألغى الاستوديو حصتك يوم {date} الساعة {time}. أُلغي حجزك.",
        },
        "notification.class_rescheduled.title": {
            "en": "Class moved",
            "ar": "تغيّر موعد الحصة",
        },
        "notification.class_rescheduled.body": {
            "en": "Your class now starts on {date} at {time}. Your booking still stands.",
            "ar": "تبدأ حصتك الآن يوم {date} الساعة {time}. حجزك ما زال قائمًا.",
        },
        "notification.payment_failed.title": {
            "en": "Payment didn't go through",
            "ar": "لم تتم عملية الدفع",
        },
        "notification.payment_failed.body": {
            "en": "Your card was declined. Check your card details and try again.",
            "ar": "رُفضت بطاقتك. تحقّق من بيانات البطاقة وحاول مرة أخرى.",
        },
        "notification.subscription_past_due.title": {
            "en": "Membership payment failed",
            "ar": "تعذّر دفع رسوم العضوية",
        },
        "notification.subscription_past_due.body": {
            "en": "We couldn't renew your membership. We'll try again on {date}; update your "
            "card to keep your access.",
            "ar": "تعذّر تجديد عضويتك. سنحاول مجددًا يوم {date}؛ حدّث بطاقتك لتحافظ على اشتراكك.",
        },
        "notification.subscription_suspended.title": {
            "en": "Membership suspended",
            "ar": "عُلّقت العضوية",
        },
        "notification.subscription_suspended.body": {
            "en": "We couldn't take payment, so your membership is suspended. Update your card "
            "to reactivate it.",
            "ar": "تعذّر تحصيل الدفعة فعُلّقت عضويتك. حدّث بطاقتك لإعادة تفعيلها.",
        },
        "delivery.invalid_parent": {
            "en": "Use a parent of the form users/{user}/notifications/{notification}, with - "
            "for either to read across all.",
            "ar": "استخدم أصلًا بالصيغة users/{user}/notifications/{notification}، مع - "
            "لأيٍّ منهما لقراءة الكل.",
        },
        "delivery.invalid_name": {
            "en": "Use a name of the form "
            "users/{user}/notifications/{notification}/deliveries/{delivery}.",
            "ar": "استخدم اسمًا بالصيغة "
            "users/{user}/notifications/{notification}/deliveries/{delivery}.",
        },
        "delivery.not_found": {
            "en": "This notification has no such delivery.",
            "ar": "لا يوجد لهذا الإشعار تسليم بهذا الاسم.",
        },
        "delivery.not_failed": {
            "en": "Only a failed delivery can be retried.",
            "ar": "لا تمكن إعادة المحاولة إلا لتسليم فشل.",
        },
        "preferences.phone_number": {
            "en": "Give the phone number with its country code, such as +966501234567.",
            "ar": "اكتب رقم الهاتف مع رمز الدولة، مثل ‎+966501234567.",
        },
        "preferences.phone_not_textable": {
            "en": "Stride can't text this number: use a mobile number in a country we serve.",
            "ar": "لا يستطيع Stride مراسلة هذا الرقم: استخدم رقم جوال في بلد نخدمه.",
        },
        "phone.texting_off": {
            "en": "Text messages are not available right now.",
            "ar": "الرسائل النصية غير متاحة حاليًا.",
        },
        "phone.missing": {
            "en": "Add a phone number to your notification preferences first.",
            "ar": "أضف رقم هاتف إلى تفضيلات الإشعارات أولًا.",
        },
        "phone.verified": {
            "en": "This phone number is already verified.",
            "ar": "تم التحقق من رقم الهاتف هذا من قبل.",
        },
        "phone.too_many_codes": {
            "en": "Too many codes were sent to this number: try again later.",
            "ar": "أُرسل عدد كبير من الرموز إلى هذا الرقم: حاول لاحقًا.",
        },
        "phone.code_not_sent": {
            "en": "The code could not be texted: try again in a moment.",
            "ar": "تعذّر إرسال الرمز: حاول مجددًا بعد قليل.",
        },
        "phone.unreachable": {
            "en": "This number can't receive texts from Stride: check it, or reply START if "
            "you unsubscribed.",
            "ar": "لا يستقبل هذا الرقم رسائل Stride النصية: تحقّق منه، أو أرسل START إن كنت ألغيت "
            "الاشتراك.",
        },
        "phone.code_expired": {
            "en": "This code has expired or was used up: ask for a new one.",
            "ar": "انتهت صلاحية هذا الرمز أو استُنفدت محاولاته: اطلب رمزًا جديدًا.",
        },
        "phone.wrong_code": {
            "en": "That is not the code we texted: check it and try again.",
            "ar": "هذا ليس الرمز الذي أرسلناه: تحقّق منه وحاول مجددًا.",
        },
        "phone.code_text": {
            "en": "Your Stride code is {code}. It expires in {minutes} minutes. Don't share it.",
            "ar": "رمزك في Stride هو {code}. تنتهي صلاحيته خلال {minutes} دقائق. لا تشاركه مع أحد.",
        },
        "unsubscribe.invalid_token": {
            "en": "This unsubscribe link is damaged or not ours: use the one in the email.",
            "ar": "رابط إلغاء الاشتراك هذا تالف أو ليس منا: استخدم الرابط الموجود في الرسالة.",
        },
        "campaign.channels": {
            "en": "Campaigns go by push, email or both, never by text message.",
            "ar": "تُرسل الحملات بالإشعارات أو البريد أو كليهما، ولا تُرسل أبدًا برسائل نصية.",
        },
        "campaign.email_off": {
            "en": "Marketing email is not set up: send this campaign by push.",
            "ar": "البريد التسويقي غير مُعدّ: أرسل هذه الحملة بالإشعارات.",
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
        "campaign.name": {
            "en": "Give the campaign a name of up to {max} characters.",
            "ar": "أعطِ الحملة اسمًا لا يتجاوز {max} حرفًا.",
        },
        "campaign.unsupported_language": {
            "en": "Audience languages can be ar or en.",
            "ar": "يمكن أن تكون لغات الجمهور ar أو en.",
        },
        "campaign.unknown_membership": {
            "en": "Audience memberships can be MEMBERSHIP_ACTIVE, MEMBERSHIP_LAPSED or "
            "MEMBERSHIP_NONE.",
            "ar": "يمكن أن تكون عضويات الجمهور MEMBERSHIP_ACTIVE أو MEMBERSHIP_LAPSED أو "
            "MEMBERSHIP_NONE.",
        },
        "campaign.unknown_platform": {
            "en": "Audience platforms can be PLATFORM_ANDROID or PLATFORM_IOS.",
            "ar": "يمكن أن تكون منصات الجمهور PLATFORM_ANDROID أو PLATFORM_IOS.",
        },
        "campaign.variants": {
            "en": "Give one to {max} variants.",
            "ar": "حدّد من نسخة واحدة إلى {max} نسخ.",
        },
        "campaign.variant_key": {
            "en": "Give each variant its own key: lower-case letters, digits and dashes, "
            "starting with a letter.",
            "ar": "أعطِ كل نسخة مفتاحًا خاصًا بها: أحرف صغيرة وأرقام وشرطات، يبدأ بحرف.",
        },
        "campaign.weights": {
            "en": "Variant weights are whole percents above zero that add up to 100.",
            "ar": "أوزان النسخ نسب مئوية صحيحة أكبر من الصفر مجموعها 100.",
        },
        "campaign.content_languages": {
            "en": "Give the message once in each language: ar and en.",
            "ar": "اكتب الرسالة مرة واحدة بكل لغة: ar و en.",
        },
        "campaign.content_length": {
            "en": "Each title and body needs text, up to {max} characters.",
            "ar": "يحتاج كل عنوان ونص إلى محتوى لا يتجاوز {max} حرفًا.",
        },
        "campaign.send_time_past": {
            "en": "The send time has passed: leave it empty to send now.",
            "ar": "وقت الإرسال قد مضى: اتركه فارغًا للإرسال الآن.",
        },
        "campaign.per_second": {
            "en": "Send to between 1 and {max} recipients a second.",
            "ar": "أرسل إلى ما بين 1 و{max} مستلم في الثانية.",
        },
        "campaign.not_found": {
            "en": "This campaign does not exist.",
            "ar": "هذه الحملة غير موجودة.",
        },
        "campaign.invalid_name": {
            "en": "Use a name of the form campaigns/{campaign}.",
            "ar": "استخدم اسمًا بالصيغة campaigns/{campaign}.",
        },
        "campaign.finished": {
            "en": "Every push of this campaign has been sent: there is nothing left to cancel.",
            "ar": "أُرسلت كل إشعارات هذه الحملة: لم يبقَ ما يمكن إلغاؤه.",
        },
    }
)
