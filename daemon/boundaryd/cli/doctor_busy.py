"""``boundaryd doctor``: one line per ``busy_from`` source (reachable and readable, or what is wrong)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from boundaryd.errors import BadInput, BoundarydError
from boundaryd.presentation.doctor import Finding


def findings(rules: Any, state_dir: Path) -> Iterator[Finding]:
    """Each source read like a sync reads it (a day of it), nothing written to it."""
    from boundaryd.calendars.sources import open_source

    for source in getattr(rules, "busy_from", ()):
        part = f"busy {source.name}"[:12]
        label = f"{source.name} ({source.where})"
        try:
            backend = open_source(rules, source, state_dir, None)
            backend.connect()
            now = datetime.now(timezone.utc)
            backend.snapshot(now, now + timedelta(days=1), rules.tz)
        except BadInput as e:
            yield Finding(part, "misconfigured", "calendar.bad", f"{label}: {'; '.join(e.problems)}")
        except BoundarydError as e:
            yield Finding(part, "unreachable", "calendar.down", f"{label}: {'; '.join(e.problems) or e}")
        except Exception as e:  # noqa: BLE001 - doctor reports, it does not crash on one source
            yield Finding(part, "unreachable", "calendar.down", f"{label}: {type(e).__name__}: {e}")
        else:
            yield Finding(part, "ok", "calendar.ok", label)
