"""The emails the owner reads: conflict notices, the weekly preview, and one-off alerts.

This module makes the messages: envelope (From, To, Subject, Date, a stable Message-ID,
``Auto-Submitted``), a ``text/plain`` part and a ``text/html`` part that say the same thing. What
they say is rendered by ``boundaryd.presentation.notice`` from its templates: the affected days
drawn as a week grid, then each conflict described — the meeting, its time in the owner's zone,
who asked, the block, the decision, the reason and the alternatives offered. The HTML is plain
tables with inline styles and ``bgcolor`` attributes, so it renders in webmail, Outlook, Apple
Mail and Thunderbird alike; it has no scripts, no images and no remote content.

Invitation text comes from strangers. It is kept out of headers except through
``clean_header`` (one line, no control characters, bounded), HTML-escaped in the HTML part, and
bounded per field. The message as a whole stays under ``mail.MAX_MESSAGE_BYTES`` (1 MB): at most
``MAX_DETAILED`` conflicts are described one by one, the rest are summarized ("and 2,431 more:
..."), and if the message would still be too large fewer are described — whole entries, never a
cut in the middle of one.
"""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from boundaryd.core import model
from boundaryd.delivery.mail import MAX_MESSAGE_BYTES, format_address, message_id, usable_address
from boundaryd.presentation.notice import GRID_MAX_DAYS, MailView, Told, alert_view, notice_view, preview_view
from boundaryd.presentation.safe import clean_header

__all__ = ["GRID_MAX_DAYS", "MAX_DETAILED", "build_mail", "build_notice", "build_owner_alert", "build_weekly_preview"]

#: conflicts described one by one in a notice; the rest are counted
MAX_DETAILED = 100


def build_notice(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    key: str,
    told: Told | None = None,
) -> EmailMessage:
    """One email for the new conflicts of a sync (or a digest). ``told`` maps a declined
    occurrence's key to how its organizer learns of it (``core.actions.Telling``'s value and
    ``told_why``), as the plan's ``Decline`` actions say; a decline not in it counts as told."""
    view = notice_view(rules=rules, conflicts=conflicts, blocks=blocks, now=now, told=told or {})
    return _fit(rules, view, now, key)


def build_weekly_preview(
    *,
    rules: Any,
    conflicts: Sequence[model.Conflict],
    blocks: Sequence[model.BlockInstance],
    now: datetime,
    key: str,
    start: date | None = None,
) -> EmailMessage:
    """The weekly preview: the protected blocks of 7 days and the conflicts already known
    (``presentation.notice.preview_view`` says which week)."""
    view = preview_view(rules=rules, conflicts=conflicts, blocks=blocks, now=now, start=start)
    return _fit(rules, view, now, key)


def build_mail(*, rules: Any, view: MailView, now: datetime, key: str) -> EmailMessage:
    """An owner email whose words a view holds (the weekly ledger: ``presentation.report``)."""
    return _fit(rules, view, now, key)


def build_owner_alert(*, rules: Any, subject: str, text: str, now: datetime, key: str) -> EmailMessage:
    """A plain one-off notice to the owner (the daemon failing, a rules file that does not validate)."""
    subject_line, body = alert_view(subject, text)
    msg = _envelope(rules, subject_line, now, key)
    msg.set_content(body)
    return msg


def _fit(rules: Any, view: MailView, now: datetime, key: str) -> EmailMessage:
    """The message with as many conflicts described as fit under MAX_MESSAGE_BYTES."""
    detail = min(view.count, MAX_DETAILED)
    while True:
        text, page = view.render(detail)
        msg = _envelope(rules, view.subject, now, key)
        msg.set_content(text)
        msg.add_alternative(page, subtype="html")
        if detail == 0 or len(msg.as_bytes()) <= MAX_MESSAGE_BYTES:
            return msg
        detail //= 2


def _envelope(rules: Any, subject: str, now: datetime, key: str) -> EmailMessage:
    to = _notify_to(rules)
    sender = _notify_from(rules) or to
    msg = EmailMessage()
    msg["From"] = format_address("boundaryd", sender)
    msg["To"] = format_address(getattr(rules.owner, "name", None) or "", to)
    msg["Subject"] = clean_header(subject, 200)
    msg["Date"] = email.utils.format_datetime(now)
    msg["Message-ID"] = message_id(key, sender.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    return msg


def _notify_to(rules: Any) -> str:
    addr = getattr(rules, "notify_to", None)
    if not addr:
        em = getattr(getattr(rules, "notify", None), "email", None)
        addr = getattr(em, "to", None) or rules.owner.emails[0]
    return usable_address(addr) or clean_header(addr, 254)


def _notify_from(rules: Any) -> str | None:
    addr = getattr(rules, "notify_from", None)
    if not addr:
        em = getattr(getattr(rules, "notify", None), "email", None)
        addr = getattr(em, "from_", None)
    return (usable_address(addr) or clean_header(addr, 254)) if addr else None
