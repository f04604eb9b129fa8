"""The ledger's chart: kept vs planned hours per week, drawn by hand as inline SVG (no dependency).

One bar per week: the planned hours in light grey, the kept hours over it in green from the
baseline, the share kept written above. It scales to its container (``viewBox``, ``width:100%``)
so it fits a 375 px phone screen; mail clients that drop inline SVG (Gmail, Outlook for Windows)
still get the same numbers as text right after it (``report.html``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape

__all__ = ["Bar", "chart_svg"]

W, H = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 30, 6, 30, 28
KEPT, PLANNED, AXIS, INK, MUTED = "#188038", "#dadce0", "#e8eaed", "#202124", "#5f6368"


@dataclass(frozen=True)
class Bar:
    week: date
    label: str  # the week's Monday as the owner's locale writes it short ("11/16")
    planned_minutes: int | None  # None: no record of that week
    kept_minutes: int
    current: bool = False


def _step(top_hours: float) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100):
        if top_hours / step <= 5:
            return step
    return 200


def chart_svg(bars: Sequence[Bar], title: str, legend: tuple[str, str, str]) -> str:
    """The SVG markup (trusted: every text in it is escaped here). ``legend``: (kept, planned, no record)."""
    top_h = max([(b.planned_minutes or 0) / 60 for b in bars] + [max(b.kept_minutes, 0) / 60 for b in bars] + [1])
    step = _step(top_h)
    scale_top = step * -(-top_h // step)
    plot_h, plot_w = H - TOP - BOTTOM, W - LEFT - RIGHT
    base = TOP + plot_h

    def y(minutes: float) -> float:
        return base - plot_h * (minutes / 60) / scale_top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img"'
        f' aria-label="{escape(title)}" style="display:block;width:100%;max-width:520px;height:auto"'
        ' font-family="-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="6" width="10" height="10" fill="{KEPT}"/>'
        f'<text x="{LEFT + 14}" y="15" font-size="11" fill="{INK}">{escape(legend[0])}</text>',
        f'<rect x="{LEFT + 90}" y="6" width="10" height="10" fill="{PLANNED}"/>'
        f'<text x="{LEFT + 104}" y="15" font-size="11" fill="{INK}">{escape(legend[1])}</text>',
    ]
    h = 0
    while h <= scale_top:
        gy = y(h * 60)
        out.append(f'<line x1="{LEFT}" y1="{gy:.1f}" x2="{W - RIGHT}" y2="{gy:.1f}" stroke="{AXIS}" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 4}" y="{gy + 3.5:.1f}" font-size="10" fill="{MUTED}" text-anchor="end">{h}h</text>')
        h += step
    slot = plot_w / max(len(bars), 1)
    width = min(26.0, slot * 0.7)
    for n, b in enumerate(bars):
        cx = LEFT + slot * (n + 0.5)
        x = cx - width / 2
        weight = ' font-weight="bold"' if b.current else ""
        out.append(
            f'<text x="{cx:.1f}" y="{H - 10}" font-size="10" fill="{INK if b.current else MUTED}"'
            f' text-anchor="middle"{weight}>{escape(b.label)}</text>'
        )
        if b.planned_minutes is None:
            out.append(f'<text x="{cx:.1f}" y="{base - 4}" font-size="10" fill="{MUTED}" text-anchor="middle">'
                       f"{escape(legend[2])}</text>")
            continue
        kept = max(min(b.kept_minutes, b.planned_minutes), 0)
        out.append(f'<rect x="{x:.1f}" y="{y(b.planned_minutes):.1f}" width="{width:.1f}"'
                   f' height="{base - y(b.planned_minutes):.1f}" fill="{PLANNED}"/>')
        out.append(f'<rect x="{x:.1f}" y="{y(kept):.1f}" width="{width:.1f}" height="{base - y(kept):.1f}" fill="{KEPT}"/>')
        share = f"{round(100 * kept / b.planned_minutes)}%" if b.planned_minutes > 0 else ""
        out.append(f'<text x="{cx:.1f}" y="{y(b.planned_minutes) - 3:.1f}" font-size="10" fill="{KEPT}"'
                   f' text-anchor="middle"{weight}>{share}</text>')
    out.append(f'<line x1="{LEFT}" y1="{base}" x2="{W - RIGHT}" y2="{base}" stroke="{MUTED}" stroke-width="1"/>')
    out.append("</svg>")
    return "".join(out)
