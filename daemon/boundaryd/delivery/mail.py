"""Email out: the addresses and identifiers every message carries, and the way out.

Every message boundaryd sends — conflict notices, weekly previews, iMIP replies to organizers,
alerts — is built from text rendered by ``boundaryd.presentation``, put in the **outbox**
(``delivery.outbox``: a Maildir under ``STATE/outbox`` with a ledger of each message's state)
and sent by ``delivery.transport`` (SMTP). This module holds what the message builders share:
the size bound, header-safe addresses and stable Message-IDs. It also re-exports the outbox and
transport names, so ``from boundaryd.delivery.mail import Outbox, SmtpTransport, deliver`` works.
"""

from __future__ import annotations

import email.utils
import hashlib
import re

from boundaryd.core.addresses import usable_address
from boundaryd.delivery.outbox import Outbox, OutboxEntry, State
from boundaryd.delivery.transport import DeliveryReport, MessageRejected, SmtpTransport, Transport, deliver
from boundaryd.presentation.safe import clean_header, clean_text

__all__ = [
    "MAX_MESSAGE_BYTES",
    "DeliveryReport",
    "MessageRejected",
    "Outbox",
    "OutboxEntry",
    "SmtpTransport",
    "State",
    "Transport",
    "clean_header",
    "clean_text",
    "deliver",
    "format_address",
    "message_id",
    "usable_address",
]

#: every message boundaryd builds stays under this many bytes as sent (headers + encoded body)
MAX_MESSAGE_BYTES = 1_000_000



def format_address(name: object, addr: str) -> str:
    """``"Name" <addr>`` with the name cleaned (or just ``addr``); ``addr`` must be usable."""
    display = clean_header(name, 80).replace('"', "'").replace("\\", "/")
    return email.utils.formataddr((display, addr)) if display else addr


def message_id(key: str, domain: str) -> str:
    """A Message-ID that is the same for the same key: a re-sent message is a known duplicate."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    dom = domain if re.fullmatch(r"[A-Za-z0-9.-]{1,200}", domain or "") else "boundaryd.invalid"
    return f"<bd.{digest}@{dom}>"
