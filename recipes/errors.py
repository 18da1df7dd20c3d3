"""The one base of every error a user can act on, and how the CLI ends on it.

Each module raises its own subclass (SpecError, EngineError, ...); the CLI maps them all
in one place by `exit_code`. Kept in `recipes/`, the lower layer, so that the programs'
own errors (an invalid spec) share it without importing the CLI.
"""

from __future__ import annotations

EXIT_FAILED = 1  # the operation failed; the stack's record says what happened
EXIT_BAD_INPUT = 2  # the input is wrong; nothing was touched


class RecipeError(Exception):
    """An error for the user: `message` says what happened and what to do."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str = "", *args: object):
        super().__init__(message, *args)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadInput(RecipeError):
    """Input that cannot be used (a name, a file, an unknown stack): nothing was touched."""

    exit_code = EXIT_BAD_INPUT


class SdkMissing(BadInput):
    """The stack's cloud needs a Pulumi SDK this Python does not have (a one-cloud install): nothing was touched."""
