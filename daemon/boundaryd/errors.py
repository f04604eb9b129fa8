"""The two kinds of error a user can meet, mapped to exit codes in one place (cli.main).

Anything else is a bug: it shows a traceback with ``-v``.
"""

from __future__ import annotations


class BoundarydError(Exception):
    """A failure the user can act on. ``problems`` are one-line messages, each naming its file."""

    exit_code = 1

    def __init__(self, *problems: str) -> None:
        super().__init__(problems[0] if problems else "")
        self.problems: tuple[str, ...] = problems


class BadInput(BoundarydError):
    """Bad usage or input (a rules file that does not validate, an unreadable calendar): exit 2.

    A run that raises this has changed nothing.
    """

    exit_code = 2


class RuntimeFailure(BoundarydError):
    """The world failed us (server unreachable, auth revoked, disk full): exit 1, retry later."""

    exit_code = 1


class Conflict412(RuntimeFailure):
    """Someone else changed an event between our read and our write: re-read and re-plan."""


class ChangeRefused(Exception):
    """The calendar server refuses one edit for good (not a fault to retry): the sync goes on.

    E.g. a scheduling server that lets an attendee change only their own reply, and so refuses
    the override that declines one occurrence of a series.
    """
