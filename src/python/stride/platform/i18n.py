"""Localized messages in Arabic and English.

Each service registers its messages once at import time; error mapping and notifications render
them in the caller's language (the `x-stride-locale` metadata Envoy derives from Accept-Language).
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import Literal, cast

from stride.platform.context import ContextScope

Locale = Literal["ar", "en"]
SUPPORTED_LOCALES: tuple[Locale, ...] = ("en", "ar")
DEFAULT_LOCALE: Locale = "en"
LOCALE_METADATA_KEY = "x-stride-locale"


class MessageCatalog:
    def __init__(self) -> None:
        self._messages: dict[str, dict[Locale, str]] = {}

    def register(self, messages: Mapping[str, Mapping[Locale, str]]) -> None:
        for key, translations in messages.items():
            missing = set(SUPPORTED_LOCALES) - set(translations)
            if missing:
                raise ValueError(f"message {key!r} lacks translations for {sorted(missing)}")
            existing = self._messages.get(key)
            if existing is not None and existing != dict(translations):
                raise ValueError(f"message {key!r} is registered twice with different texts")
            self._messages[key] = dict(translations)

    def translate(
        self, key: str, locale: Locale, params: Mapping[str, object] | None = None
    ) -> str:
        translations = self._messages.get(key)
        if translations is None:
            return key
        template = translations.get(locale) or translations[DEFAULT_LOCALE]
        try:
            return template.format(**(params or {}))
        except (KeyError, IndexError, ValueError):
            return template


def negotiate_locale(value: str | None) -> Locale:
    """Picks `ar` or `en` from a locale tag or an Accept-Language list ("ar-SA,en;q=0.8")."""
    if not value:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(value.split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, position, tag.strip().lower().split("-")[0]))
    for _, _, language in sorted(ranked):
        if language in SUPPORTED_LOCALES:
            return cast(Locale, language)
    return DEFAULT_LOCALE


CATALOG = MessageCatalog()

CATALOG.register(
    {
        "error.internal": {
            "en": "Something went wrong on our side. Please try again.",
            "ar": "حدث خطأ من جهتنا. يرجى المحاولة مرة أخرى.",
        },
        "error.invalid_argument": {
            "en": "Some fields are not valid.",
            "ar": "بعض الحقول غير صالحة.",
        },
        "error.not_found": {
            "en": "The requested item was not found.",
            "ar": "العنصر المطلوب غير موجود.",
        },
        "error.already_exists": {
            "en": "This item already exists.",
            "ar": "هذا العنصر موجود بالفعل.",
        },
        "error.failed_precondition": {
            "en": "This action is not possible right now.",
            "ar": "لا يمكن تنفيذ هذا الإجراء الآن.",
        },
        "error.aborted": {
            "en": "Someone else changed this at the same time. Please try again.",
            "ar": "قام شخص آخر بتغيير هذا في الوقت نفسه. يرجى المحاولة مرة أخرى.",
        },
        "error.permission_denied": {
            "en": "You are not allowed to do this.",
            "ar": "غير مسموح لك بتنفيذ هذا الإجراء.",
        },
        "error.unauthenticated": {
            "en": "Please sign in again.",
            "ar": "يرجى تسجيل الدخول مرة أخرى.",
        },
        "error.resource_exhausted": {
            "en": "Too many requests. Please wait a moment and try again.",
            "ar": "طلبات كثيرة جدًا. يرجى الانتظار قليلًا ثم المحاولة مرة أخرى.",
        },
        "error.unavailable": {
            "en": "The service is temporarily unavailable. Please try again shortly.",
            "ar": "الخدمة غير متاحة مؤقتًا. يرجى المحاولة بعد قليل.",
        },
        "error.deadline_exceeded": {
            "en": "The request took too long. Please try again.",
            "ar": "استغرق الطلب وقتًا طويلًا. يرجى المحاولة مرة أخرى.",
        },
        "field.required": {"en": "This field is required.", "ar": "هذا الحقل مطلوب."},
        "field.invalid_email": {
            "en": "Enter a valid email address.",
            "ar": "أدخل عنوان بريد إلكتروني صالحًا.",
        },
        "field.too_short": {
            "en": "Must be at least {min} characters.",
            "ar": "يجب ألا يقل عن {min} أحرف.",
        },
        "field.too_long": {
            "en": "Must be at most {max} characters.",
            "ar": "يجب ألا يزيد عن {max} حرفًا.",
        },
        "field.invalid_choice": {
            "en": "Must be one of: {choices}.",
            "ar": "يجب أن يكون أحد الخيارات: {choices}.",
        },
        "field.invalid_format": {"en": "The format is not valid.", "ar": "التنسيق غير صالح."},
        "field.too_many": {
            "en": "At most {max} entries are allowed.",
            "ar": "يُسمح بـ {max} عناصر على الأكثر.",
        },
        "field.too_large": {
            "en": "Must be at most {max} bytes.",
            "ar": "يجب ألا يزيد عن {max} بايت.",
        },
        "field.control_characters": {
            "en": "Must not contain control characters.",
            "ar": "يجب ألا يحتوي على محارف تحكم.",
        },
        "field.invalid_encoding": {
            "en": "Must be valid UTF-8 text.",
            "ar": "يجب أن يكون نصًا صالحًا بترميز UTF-8.",
        },
        "field.unknown_value": {
            "en": "This value is not one of the allowed values.",
            "ar": "هذه القيمة ليست من القيم المسموح بها.",
        },
        "field.invalid_time": {
            "en": "The time is out of range.",
            "ar": "الوقت خارج النطاق المسموح.",
        },
        "field.invalid_time_zone": {
            "en": "Choose a valid time zone, such as Asia/Riyadh.",
            "ar": "اختر منطقة زمنية صالحة، مثل Asia/Riyadh.",
        },
        "field.not_finite": {
            "en": "Must be a number.",
            "ar": "يجب أن يكون رقمًا.",
        },
        "field.out_of_range": {
            "en": "Must be between {min} and {max}.",
            "ar": "يجب أن يكون بين {min} و{max}.",
        },
        "user.invalid_name": {
            "en": "Use a user name of the form users/{id}.",
            "ar": "استخدم اسم مستخدم بالصيغة users/{id}.",
        },
        "studio.invalid_name": {
            "en": "Use a studio name of the form studios/{id}.",
            "ar": "استخدم اسم استوديو بالصيغة studios/{id}.",
        },
        "page.invalid_token": {
            "en": "The page token is not valid for this request.",
            "ar": "رمز الصفحة غير صالح لهذا الطلب.",
        },
        "filter.syntax": {
            "en": "The filter cannot be read from character {position}: write comparisons such "
            "as field = value, joined by AND.",
            "ar": "تعذّرت قراءة عامل التصفية بدءًا من الحرف {position}: اكتب مقارنات مثل "
            "field = value مربوطة بـ AND.",
        },
        "filter.unknown_field": {
            "en": "This list cannot be filtered by {field}; it can be by: {fields}.",
            "ar": "لا يمكن تصفية هذه القائمة حسب {field}؛ يمكن تصفيتها حسب: {fields}.",
        },
        "filter.operator": {
            "en": "{field} cannot be compared with {operator}; use {operators}.",
            "ar": "لا يمكن مقارنة {field} باستخدام {operator}؛ استخدم {operators}.",
        },
        "filter.repeated_field": {
            "en": "{field} is compared for equality more than once: every comparison of a filter "
            "must hold, so give it once.",
            "ar": "قورن {field} بالمساواة أكثر من مرة: يجب أن تتحقق كل مقارنات عامل التصفية، "
            "لذا اذكره مرة واحدة.",
        },
        "filter.expected_integer": {
            "en": "{field} takes a whole number, not {value}.",
            "ar": "يأخذ {field} عددًا صحيحًا، وليس {value}.",
        },
        "filter.expected_boolean": {
            "en": "{field} takes true or false, not {value}.",
            "ar": "يأخذ {field} القيمة true أو false، وليس {value}.",
        },
        "filter.expected_timestamp": {
            "en": "{field} takes a time with its offset, e.g. 2027-03-01T06:00:00Z, not {value}.",
            "ar": "يأخذ {field} وقتًا مع فرق التوقيت، مثل 2027-03-01T06:00:00Z، وليس {value}.",
        },
        "filter.expected_enum": {
            "en": "{field} takes one of {choices}, not {value}.",
            "ar": "يأخذ {field} إحدى القيم {choices}، وليس {value}.",
        },
        "field.not_updatable": {
            "en": "These fields cannot be updated: {fields}.",
            "ar": "لا يمكن تعديل هذه الحقول: {fields}.",
        },
        "entitlement.none": {
            "en": "You need a membership or class credits for this class. Buy one in the app.",
            "ar": "تحتاج إلى عضوية أو رصيد حصص لهذه الحصة. اشترِ من التطبيق.",
        },
        "field.other_studio": {
            "en": "This belongs to another studio.",
            "ar": "هذا يتبع استوديو آخر.",
        },
        "field.unknown": {
            "en": "This field does not exist in the request.",
            "ar": "هذا الحقل غير موجود في الطلب.",
        },
        "request.malformed_json": {
            "en": "The request body is not valid JSON.",
            "ar": "محتوى الطلب ليس JSON صالحًا.",
        },
        "request.too_large": {
            "en": "The request is too large.",
            "ar": "الطلب كبير جدًا.",
        },
        "request.malformed": {
            "en": "The request does not match this API: check the path, fields and values.",
            "ar": "الطلب لا يطابق هذه الواجهة: تحقق من المسار والحقول والقيم.",
        },
        "request_id.reused": {
            "en": "This request id was already used for a different request.",
            "ar": "معرّف الطلب هذا استُخدم من قبل لطلب مختلف.",
        },
    }
)


_CURRENT_LOCALE: contextvars.ContextVar[Locale] = contextvars.ContextVar(
    "stride_locale", default=DEFAULT_LOCALE
)


def locale_scope(locale: Locale) -> ContextScope[Locale]:
    """Makes `locale` the caller's language for the code inside (set per RPC by the server)."""
    return ContextScope(_CURRENT_LOCALE, locale)


def current_locale() -> Locale:
    return _CURRENT_LOCALE.get()
