"""The outbox: every message boundaryd sends, as a Maildir, with a ledger of their states.

Every message boundaryd sends — conflict notices, weekly previews, iMIP replies to organizers,
alerts — is first put in the **outbox**, ``STATE/outbox``: a Maildir any mail client opens
(mutt ``-f``, NeoMutt, Evolution, Thunderbird with a Maildir account, ``python -m mailbox``).

How the outbox represents each message's state (``entries()``):

* ``STATE/outbox/{new,cur}/bd.<hash>`` — in the outbox. Its state is ``waiting`` when it is
  queued for SMTP and not sent yet (the server was down, or this sync has not delivered it yet),
  or ``outbox`` when the outbox *is* its destination: no SMTP is configured (you read it there),
  ``put(..., send=False)`` (``notify.replies: outbox``: you forward the reply yourself), or the
  server refused it for good (5xx for that message).
* ``STATE/outbox/.Sent/cur/bd.<hash>:2,S`` — accepted by the SMTP server (``sent``). ``.Sent``
  is a Maildir++ sub-folder: mail clients show it as "Sent" under the outbox.
* ``STATE/outbox/boundaryd-ledger`` — an append-only list (JSON lines) of the keys put and their
  state. It makes ``put`` idempotent even after you delete a read message in your mail client,
  and keeps ``outbox`` apart from ``waiting``. Mail clients ignore files at a Maildir's top.

``<hash>`` is the SHA-256 of the message's key, so the same key always names the same file.

Crash safety (a sync can be killed at any instruction):

* ``put`` writes the message to ``tmp/`` and fsyncs it, appends ``queued`` to the ledger and
  fsyncs, then renames the file into ``new/`` and fsyncs the directory. Killed before the
  ledger line: a stray ``tmp/`` file, ignored and overwritten by the next ``put``. Killed after
  it: the next ``Outbox`` open finishes the rename. Either way exactly one message results.
* ``mark_sent`` renames the file into ``.Sent`` first (the location is the truth), then appends
  ``sent`` to the ledger.
* ``deliver`` marks each message sent right after the server's final ``250`` for it. A kill in
  the milliseconds between the server's ``250`` and that rename is the one case where the next
  sync sends the message again; it carries the same ``Message-ID``, which mail systems use to
  drop duplicates. A message is never lost.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from boundaryd.errors import RuntimeFailure
from boundaryd.fsutil import fsync_dir, write_synced
from boundaryd.presentation.mail_errors import UNREADABLE_MESSAGE, outbox_unwritable

__all__ = ["Outbox", "OutboxEntry", "State"]

State = Literal["sent", "waiting", "outbox"]

_POLICY = email.policy.default  # \n line ends on disk; smtplib converts to CRLF on the wire


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:40]


# --- the outbox ----------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    subject: str
    to: str
    date: datetime | None
    state: State


class Outbox:
    """``STATE/outbox``: every message boundaryd sends, as a Maildir (see the module docstring)."""

    LEDGER = "boundaryd-ledger"
    SENT = ".Sent"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            for d in (self.path, self.path / self.SENT):
                for sub in ("", "tmp", "new", "cur"):
                    (d / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            marker = self.path / self.SENT / "maildirfolder"
            if not marker.exists():  # opening an outbox writes nothing once it exists
                marker.touch(mode=0o600)
        except OSError as e:
            raise RuntimeFailure(outbox_unwritable(self.path, e)) from None
        self._recover()

    # -- public ---------------------------------------------------------------------------
    def put(self, key: str, msg: EmailMessage, *, send: bool = True) -> bool:
        """Queue ``msg`` under ``key``. True if queued now; False if that key was put before
        (queued, sent, or read and deleted by you). ``send=False`` keeps it in the outbox for
        you to read or forward: no transport will send it."""
        with self._lock():
            ledger = self._ledger()
            h = _hash(key)
            if h in ledger:
                return False
            data = msg.as_bytes(policy=_POLICY)
            tmp = self.path / "tmp" / f"bd.{h}"
            write_synced(tmp, data)
            self._append({"h": h, "k": key, "s": "queued" if send else "outbox"})
            os.rename(tmp, self.path / "new" / f"bd.{h}")
            fsync_dir(self.path / "new")
            fsync_dir(self.path / "tmp")
            return True

    def pending(self) -> list[tuple[str, EmailMessage]]:
        """Messages waiting for a transport, oldest first."""
        out: list[tuple[str, EmailMessage]] = []
        for key, h, state in self._states():
            if state != "waiting":
                continue
            path = self._find(h, sent=False)
            if path is None:
                continue
            with path.open("rb") as f:
                msg = email.message_from_binary_file(f, policy=_POLICY)
            assert isinstance(msg, EmailMessage)
            out.append((key, msg))
        return out

    def mark_sent(self, key: str) -> None:
        """The server accepted the message: move it to ``.Sent``. Idempotent."""
        with self._lock():
            h = _hash(key)
            src = self._find(h, sent=False)
            if src is not None:
                os.rename(src, self.path / self.SENT / "cur" / f"bd.{h}:2,S")
                fsync_dir(self.path / self.SENT / "cur")
                fsync_dir(src.parent)
            if self._ledger().get(h, ("", ""))[1] != "sent":
                self._append({"h": h, "s": "sent"})

    def keep(self, key: str) -> None:
        """Stop waiting for a transport: the message stays in the outbox for the user (``outbox``)."""
        with self._lock():
            h = _hash(key)
            if self._ledger().get(h, ("", ""))[1] == "queued" and self._find(h, sent=True) is None:
                self._append({"h": h, "s": "outbox"})

    def state(self, key: str) -> State | None:
        """The state of ``key``'s message, None if never put."""
        h = _hash(key)
        for _, hh, st in self._states():
            if hh == h:
                return st
        return None

    def entries(self) -> list[OutboxEntry]:
        """Every message still on disk, with its state, oldest first."""
        out: list[OutboxEntry] = []
        for key, h, state in self._states():
            path = self._find(h, sent=state == "sent")
            if path is None:
                continue
            try:
                with path.open("rb") as f:
                    msg = email.message_from_binary_file(f, policy=_POLICY)
                date_h = msg.get("Date")
                when = email.utils.parsedate_to_datetime(str(date_h)) if date_h else None
                out.append(OutboxEntry(key, str(msg.get("Subject", "")), str(msg.get("To", "")), when, state))
            except (OSError, ValueError, TypeError, IndexError):
                out.append(OutboxEntry(key, UNREADABLE_MESSAGE, "", None, state))
        return out

    # -- internals ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        fd = os.open(self.path / ".boundaryd-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ledger(self) -> dict[str, tuple[str, str]]:
        """hash -> (key, last ledger state); a torn last line (killed mid-append) is ignored."""
        out: dict[str, tuple[str, str]] = {}
        try:
            raw = (self.path / self.LEDGER).read_bytes()
        except FileNotFoundError:
            return out
        for line in raw.splitlines():
            try:
                rec = json.loads(line)
                h, s = rec["h"], rec["s"]
            except (ValueError, KeyError, TypeError):
                continue
            key = rec.get("k", out.get(h, ("", ""))[0])
            out[h] = (key, s)
        return out

    def _append(self, rec: dict[str, str]) -> None:
        line = json.dumps(rec, ensure_ascii=True).encode() + b"\n"
        fd = os.open(self.path / self.LEDGER, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            # a torn line from an earlier kill would swallow this one: start on a fresh line
            size = os.fstat(fd).st_size
            if size:
                with open(self.path / self.LEDGER, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _states(self) -> list[tuple[str, str, State]]:
        out: list[tuple[str, str, State]] = []
        for h, (key, s) in self._ledger().items():
            if s == "sent" or self._find(h, sent=True) is not None:
                out.append((key, h, "sent"))
            elif s == "queued":
                out.append((key, h, "waiting"))
            else:
                out.append((key, h, "outbox"))
        return out

    def _find(self, h: str, *, sent: bool) -> Path | None:
        base = self.path / self.SENT if sent else self.path
        name = f"bd.{h}"
        for sub in ("new", "cur"):
            d = base / sub
            p = d / name
            if p.exists():
                return p
            try:
                for entry in os.scandir(d):
                    if entry.name.startswith(name + ":") or entry.name.startswith(name + "!"):
                        return Path(entry.path)
            except FileNotFoundError:
                pass
        return None

    def _recover(self) -> None:
        """Finish a ``put`` killed between its ledger line and its rename."""
        with self._lock():
            ledger = self._ledger()
            for tmp in (self.path / "tmp").glob("bd.*"):
                h = tmp.name[3:]
                if h in ledger and self._find(h, sent=False) is None and self._find(h, sent=True) is None:
                    os.rename(tmp, self.path / "new" / tmp.name)
                    fsync_dir(self.path / "new")
                else:
                    tmp.unlink(missing_ok=True)
