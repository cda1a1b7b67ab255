"""Previewing a message template before it is used: what staff see while writing one."""

from __future__ import annotations

import re
from collections.abc import Mapping

import jinja2

from stride.notifications import translations  # noqa: F401 - registers the texts.
from stride.notifications.adapters.templates import Rendered, Templates
from stride.platform.auth import require_role
from stride.platform.errors import FieldViolation, InvalidArgument, NotFound
from stride.platform.i18n import SUPPORTED_LOCALES

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")  # Template kinds are file-name safe.


def preview(
    templates: Templates, kind: str, version: int, language: str, values: Mapping[str, str]
) -> Rendered:
    require_role("manager", "admin")
    violations = []
    if not _NAME.match(kind):
        violations.append(FieldViolation("kind", "template.invalid_kind"))
    if language not in SUPPORTED_LOCALES:
        violations.append(FieldViolation("language_code", "template.unsupported_language"))
    if violations:
        raise InvalidArgument(violations)
    try:
        return templates.render(kind, version, language, values)
    except jinja2.TemplateNotFound:
        raise NotFound("TEMPLATE_NOT_FOUND", "template.not_found") from None
    except jinja2.UndefinedError as missing:
        raise InvalidArgument(
            [FieldViolation("values", "template.missing_value", {"detail": str(missing)})]
        ) from None
