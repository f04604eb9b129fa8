"""The command line: ``boundaryd COMMAND``."""

from boundaryd.cli.commands import main

__all__ = ["main"]
