"""The one error type users see.

Every layer raises a subclass of :class:`PystackError` for anything caused by input or by the
host; the CLI prints ``str(err)`` on one line and exits with ``err.exit_code``. Anything else
that escapes is our own bug, and only then does a traceback appear (with ``--debug``).
"""

from __future__ import annotations


class PystackError(Exception):
    """An error with a message meant for the user, not a traceback."""

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class SpecError(PystackError):
    """A problem in a stack file, located at ``file:line:column`` and a dotted key path."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.detail = message
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.detail}"


class SpecErrors(PystackError):
    """Several stack-file problems reported at once, one per line."""

    def __init__(self, errors: list[SpecError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.render() for e in errors))


class RuntimeFailure(PystackError):
    """The container engine could not do what a bundle asked for."""


class ImageError(PystackError):
    """An image could not be found, fetched, verified, built or unpacked."""


class NetworkFailure(PystackError):
    """A network, address, DNS listener or published port could not be set up."""


class CgroupError(PystackError):
    """A cgroup could not be created, configured, read or removed."""
