"""Message templates: Jinja2 files named `{kind}.v{version}.{language}.j2`, each with a
`subject`, a `text` and an `html` block. Versions live side by side, so a message can be
changed without rewriting what was already sent; HTML is autoescaped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).parent.parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Templates:
    def __init__(self, directory: Path = TEMPLATES) -> None:
        self._environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,  # A missing value is a bug, not a blank.
            keep_trailing_newline=True,
        )

    def render(
        self, kind: str, version: int, language: str, values: Mapping[str, object]
    ) -> Rendered:
        """Raises TemplateNotFound for an unknown template and UndefinedError for a value it
        needs and was not given."""
        template = self._environment.get_template(f"{kind}.v{version}.{language}.j2")
        context = template.new_context(dict(values))

        def block(name: str) -> str:
            return "".join(template.blocks[name](context)).strip()

        return Rendered(block("subject"), block("text"), block("html"))
