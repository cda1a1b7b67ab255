"""Billing's user-facing messages in Arabic and English."""

from stride.platform.i18n import CATALOG

CATALOG.register(
    {
        "entitlement.expires_first": {
            "en": "It must expire after it starts.",
            "ar": "يجب أن ينتهي بعد أن يبدأ.",
        },
        "plan.not_found": {"en": "This plan does not exist.", "ar": "هذه الخطة غير موجودة."},
        "plan.invalid_name": {
            "en": "Use a plan name of the form studios/{studio}/plans/{plan}.",
            "ar": "استخدم اسم خطة بالصيغة studios/{studio}/plans/{plan}.",
        },
        "plan.other_currency": {
            "en": "Both plans must be priced in the same currency.",
            "ar": "يجب أن تكون الخطتان بالعملة نفسها.",
        },
        "plan.change_outside_period": {
            "en": "The change must fall inside the billing period.",
            "ar": "يجب أن يقع التغيير داخل فترة الفوترة.",
        },
        "plan.pack_needs_credits_and_days": {
            "en": "A class pack needs 1–500 classes and 1–730 days of validity.",
            "ar": "تحتاج باقة الحصص إلى 1–500 حصة وصلاحية من 1–730 يومًا.",
        },
        "line.plan": {"en": "The plan", "ar": "الخطة"},
        "line.renewal": {"en": "Membership renewal", "ar": "تجديد العضوية"},
        "line.refund": {"en": "Refund", "ar": "استرداد"},
        "line.late_cancel_fee": {"en": "Late cancellation fee", "ar": "رسوم الإلغاء المتأخر"},
        "line.no_show_fee": {"en": "No-show fee", "ar": "رسوم عدم الحضور"},
        "financing.unknown_provider": {
            "en": "This instalment provider is not available here.",
            "ar": "مزود التقسيط هذا غير متاح هنا.",
        },
        "financing.buyer_email": {
            "en": "The instalment provider needs your email address.",
            "ar": "يحتاج مزود التقسيط إلى بريدك الإلكتروني.",
        },
        "financing.declined": {
            "en": "The instalment provider cannot offer a plan for this purchase.",
            "ar": "لا يستطيع مزود التقسيط تقديم خطة لعملية الشراء هذه.",
        },
        "financing.refused": {
            "en": "The instalment provider refused the request.",
            "ar": "رفض مزود التقسيط الطلب.",
        },
        "financing.unavailable": {
            "en": "The instalment provider is unavailable right now. Try again in a moment.",
            "ar": "مزود التقسيط غير متاح حاليًا. حاول مرة أخرى بعد قليل.",
        },
        "financing.not_financed": {
            "en": "This purchase is not paid in instalments.",
            "ar": "عملية الشراء هذه ليست بالتقسيط.",
        },
        "purchase.financed": {
            "en": "This purchase is being paid in instalments. To pay by card, start a new one.",
            "ar": "عملية الشراء هذه تُدفع بالتقسيط. للدفع بالبطاقة ابدأ عملية شراء جديدة.",
        },
        "purchase.paid_by_card": {
            "en": "This purchase is being paid by card. To pay in instalments, start a new one.",
            "ar": "عملية الشراء هذه تُدفع بالبطاقة. للدفع بالتقسيط ابدأ عملية شراء جديدة.",
        },
        "fees.one_currency": {
            "en": "Both fees must be in the same currency.",
            "ar": "يجب أن تكون الرسمتان بالعملة نفسها.",
        },
        "fees.invalid_name": {
            "en": "Use a name of the form studios/{studio}/fees.",
            "ar": "استخدم اسمًا بالصيغة studios/{studio}/fees.",
        },
        "fees.not_set": {
            "en": "This studio has not set its fees.",
            "ar": "لم يحدد هذا الاستوديو رسومه.",
        },
        "invoice.not_found": {
            "en": "This invoice does not exist.",
            "ar": "هذه الفاتورة غير موجودة.",
        },
        "invoice.invalid_name": {
            "en": "Use a name of the form users/{user}/invoices/{invoice}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/invoices/{invoice}.",
        },
        "receipt.title": {"en": "Receipt", "ar": "إيصال"},
        "receipt.number": {"en": "Invoice number", "ar": "رقم الفاتورة"},
        "receipt.date": {"en": "Date", "ar": "التاريخ"},
        "receipt.studio": {"en": "Studio", "ar": "الاستوديو"},
        "receipt.item": {"en": "Item", "ar": "البند"},
        "receipt.net": {"en": "Before VAT", "ar": "قبل الضريبة"},
        "receipt.vat": {"en": "VAT", "ar": "ضريبة القيمة المضافة"},
        "receipt.total": {"en": "Total", "ar": "الإجمالي"},
        "line.unused_time": {
            "en": "Credit for unused time on the current plan",
            "ar": "رصيد عن المدة غير المستخدمة من الخطة الحالية",
        },
        "line.remaining_time": {
            "en": "The new plan for the rest of the period",
            "ar": "الخطة الجديدة لبقية الفترة",
        },
        "hold.not_found": {"en": "This hold does not exist.", "ar": "هذا الحجز المؤقت غير موجود."},
        "hold.other_booking": {
            "en": "This hold belongs to another booking.",
            "ar": "هذا الحجز المؤقت يخص حجزًا آخر.",
        },
        "hold.invalid_name": {
            "en": "Use a name of the form users/{user}/holds/{booking}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/holds/{booking}.",
        },
        "booking.invalid_name": {
            "en": "Use a booking name of the form users/{user}/bookings/{id}.",
            "ar": "استخدم اسم حجز بالصيغة users/{user}/bookings/{id}.",
        },
        "purchase.not_found": {
            "en": "This purchase does not exist.",
            "ar": "عملية الشراء هذه غير موجودة.",
        },
        "purchase.invalid_name": {
            "en": "Use a name of the form users/{user}/purchases/{purchase}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/purchases/{purchase}.",
        },
        "purchase.invalid_payment_method": {
            "en": "Use a card saved with Stripe in the app (a pm_… id).",
            "ar": "استخدم بطاقة محفوظة عبر Stripe في التطبيق (معرّف pm_…).",
        },
        "purchase.card_refused": {
            "en": "The card issuer refused this card. Try another card.",
            "ar": "رفض مُصدر البطاقة هذه البطاقة. جرّب بطاقة أخرى.",
        },
        "subscription.not_found": {
            "en": "This subscription does not exist.",
            "ar": "هذا الاشتراك غير موجود.",
        },
        "subscription.invalid_name": {
            "en": "Use a name of the form users/{user}/subscriptions/{subscription}.",
            "ar": "استخدم اسمًا بالصيغة users/{user}/subscriptions/{subscription}.",
        },
        "subscription.not_active": {
            "en": "Only an active subscription that is not ending can be changed this way.",
            "ar": "لا يمكن إجراء هذا التغيير إلا على اشتراك نشط غير منتهٍ.",
        },
        "subscription.already_paused": {
            "en": "This subscription already has a pause that has not ended.",
            "ar": "لهذا الاشتراك إيقاف مؤقت لم ينتهِ بعد.",
        },
        "subscription.pause_start_in_period": {
            "en": "The pause must start now or later, within the paid period.",
            "ar": "يجب أن يبدأ الإيقاف المؤقت الآن أو لاحقًا، ضمن الفترة المدفوعة.",
        },
        "subscription.pause_length": {
            "en": "The pause must end after it starts, within {days} days.",
            "ar": "يجب أن ينتهي الإيقاف المؤقت بعد بدايته، خلال {days} يومًا.",
        },
        "subscription.committed": {
            "en": "This membership has a commitment until {until}; cancel at period end instead.",
            "ar": "لهذه العضوية التزام حتى {until}؛ ألغِها في نهاية الفترة بدلًا من ذلك.",
        },
        "plan.terms_for_memberships": {
            "en": "Intro prices, commitments, trials and family add-ons are for memberships only.",
            "ar": "الأسعار التعريفية والالتزامات والتجارب وإضافات العائلة للعضويات فقط.",
        },
        "line.add_on": {"en": "Family member", "ar": "فرد من العائلة"},
        "line.add_on_remaining": {
            "en": "Family member, rest of this period",
            "ar": "فرد من العائلة، بقية هذه الفترة",
        },
        "subscription.no_add_ons": {
            "en": "This membership's plan does not offer family members.",
            "ar": "خطة هذه العضوية لا تتيح إضافة أفراد العائلة.",
        },
        "subscription.add_on_is_holder": {
            "en": "Add someone other than the membership's holder.",
            "ar": "أضف شخصًا غير صاحب العضوية.",
        },
        "subscription.too_many_add_ons": {
            "en": "A membership can have at most {max} family members.",
            "ar": "يمكن أن تضم العضوية {max} من أفراد العائلة على الأكثر.",
        },
        "subscription.plan_without_add_ons": {
            "en": "This plan does not offer family members; remove them first.",
            "ar": "هذه الخطة لا تتيح أفراد العائلة؛ أزلهم أولًا.",
        },
        "subscription.add_on_declined": {
            "en": "Your card was declined; the family member was not added.",
            "ar": "رُفضت بطاقتك؛ لم تتم إضافة فرد العائلة.",
        },
        "subscription.add_on_not_found": {
            "en": "This person is not a family member on this membership.",
            "ar": "هذا الشخص ليس من أفراد العائلة في هذه العضوية.",
        },
        "line.intro_period": {"en": "First period, intro price", "ar": "الفترة الأولى بسعر تعريفي"},
        "subscription.plan_not_switchable": {
            "en": "Choose another plan of the same studio, currency and billing period.",
            "ar": "اختر خطة أخرى من الاستوديو نفسه وبالعملة وفترة الفوترة نفسيهما.",
        },
        "subscription.renewal_pending": {
            "en": "This subscription is being renewed; try again in a moment.",
            "ar": "يجري تجديد هذا الاشتراك؛ حاول مرة أخرى بعد قليل.",
        },
        "subscription.upgrade_declined": {
            "en": "Your card was declined for the upgrade; your plan is unchanged.",
            "ar": "رُفضت بطاقتك لعملية الترقية؛ لم تتغير خطتك.",
        },
        "subscription.payment_in_progress": {
            "en": "A payment for this membership is being processed. Try again in a moment.",
            "ar": "تجري معالجة دفعة لهذه العضوية. حاول مرة أخرى بعد قليل.",
        },
        "subscription.cancelled": {
            "en": "This subscription is already cancelled.",
            "ar": "هذا الاشتراك ملغى بالفعل.",
        },
        "payment.in_progress": {
            "en": "This payment is already being processed. Try again in a moment.",
            "ar": "تجري معالجة هذه العملية بالفعل. حاول مرة أخرى بعد قليل.",
        },
        "payment.saved_card_gone": {
            "en": "Your saved card is no longer on file. Add a card to your membership, then "
            "try again.",
            "ar": "لم تعد بطاقتك المحفوظة مسجلة لدينا. أضف بطاقة إلى عضويتك ثم حاول مرة أخرى.",
        },
        "payments.unavailable": {
            "en": "Payments are unavailable right now. Try again in a moment; you will not be "
            "charged twice.",
            "ar": "الدفع غير متاح حاليًا. حاول مرة أخرى بعد قليل؛ لن يتم الخصم مرتين.",
        },
        "refund.not_paid": {
            "en": "Only a paid purchase can be refunded.",
            "ar": "لا يمكن استرداد إلا عملية شراء مدفوعة.",
        },
        "refund.already_refunded": {
            "en": "This purchase is already refunded in full.",
            "ar": "تم استرداد مبلغ عملية الشراء هذه بالكامل.",
        },
        "refund.in_progress": {
            "en": "The rest of this purchase is being refunded. Try again in a moment.",
            "ar": "تجري إعادة المبلغ المتبقي من عملية الشراء هذه. حاول مرة أخرى بعد قليل.",
        },
        "refund.refused": {
            "en": "The payment provider refused this refund.",
            "ar": "رفض مزود الدفع عملية الاسترداد هذه.",
        },
        "webhook.bad_signature": {
            "en": "The webhook signature is missing, wrong or too old.",
            "ar": "توقيع الإشعار مفقود أو غير صحيح أو قديم.",
        },
    }
)
