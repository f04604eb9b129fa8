"""The Jinja2 environments every template is rendered with.

Templates live in ``presentation/templates``. Names ending in ``.html`` are autoescaped: every
``{{ value }}`` is HTML-escaped (``html.escape`` with quotes, so ``"`` becomes ``&quot;``) unless
it is already markup (a macro's output). ``.txt`` templates are plain text: what they show must
already be clean (``presentation.safe``). Blocks trim their own line (``trim_blocks`` and
``lstrip_blocks``): a line that holds only ``{% ... %}`` leaves nothing behind. An undefined
name is an error, never an empty string.
"""

from __future__ import annotations

import functools
import html
from typing import Any

__all__ = ["render"]


def _escape_html(value: Any) -> Any:
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    return Markup(html.escape(str(value), quote=True))


@functools.cache
def _env(is_html: bool) -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("boundaryd.presentation", "templates"),
        autoescape=is_html,
        finalize=_escape_html if is_html else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )


def render(name: str, **values: Any) -> str:
    """``templates/<name>`` rendered with ``values`` (HTML-escaped when ``name`` ends in .html)."""
    return str(_env(name.endswith(".html")).get_template(name).render(**values))
