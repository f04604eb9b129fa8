"""The one Jinja2 environment every template is rendered with.

Templates live in ``presentation/templates``. Names ending in ``.html`` are autoescaped (every
``{{ value }}`` is HTML-escaped unless marked safe); ``.txt`` templates are plain text. Blocks
trim their own line (``trim_blocks``/``lstrip_blocks``), so a line that holds only ``{% ... %}``
leaves nothing behind, and an undefined name is an error, not an empty string.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["render"]


@functools.cache
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("boundaryd.presentation", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,
    )
    return env


def render(name: str, **values: Any) -> str:
    """``templates/<name>`` rendered with ``values``."""
    return str(_env().get_template(name).render(**values))
