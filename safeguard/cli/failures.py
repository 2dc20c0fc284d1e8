"""What went wrong, in one line a person can act on: the command line's last word.

Every mistake a user can make (a bad store URL, a server that is down, a folder
that does not exist, a file that may not be written, a port in use) ends as one
line on stderr naming the thing and what to do, with exit status 2 when the
command was asked for wrongly and 1 when the machine or a server let it down. A
traceback is shown only with ``safeguard --debug``.
"""

from __future__ import annotations

import errno

USAGE, FAILURE, INTERRUPTED = 2, 1, 130


def explain(error: BaseException) -> tuple[int, str]:
    """(exit status, one line) for an exception that reached the command line."""
    from safeguard.errors import UsageError
    from safeguard.interrupts import is_interrupt

    if is_interrupt(error):  # Ctrl-C that a Numba kernel raised as a SystemError
        return INTERRUPTED, "interrupted"
    if isinstance(error, UsageError):
        return USAGE, str(error)
    database = _database_problem(error)
    if database is not None:
        return database
    if isinstance(error, OSError):
        return _os_problem(error)
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return FAILURE, (
        f"unexpected error ({type(error).__name__}: {first}); "
        "run again with `safeguard --debug ...` for the details, and please report it"
    )


def _os_problem(error: OSError) -> tuple[int, str]:
    where = f" {error.filename}" if error.filename else ""
    if isinstance(error, FileNotFoundError):
        return USAGE, f"no such file or folder:{where}"
    if isinstance(error, IsADirectoryError):
        return USAGE, f"is a folder, a file was expected:{where}"
    if isinstance(error, NotADirectoryError):
        return USAGE, f"not a folder:{where}"
    if isinstance(error, PermissionError):
        return FAILURE, f"permission denied:{where} (check who may read or write it)"
    if error.errno == errno.EADDRINUSE:
        return FAILURE, "that address and port are already in use: choose another --port"
    if error.errno == errno.ENOSPC:
        return FAILURE, f"no space left on the device:{where}"
    return FAILURE, f"{error.strerror or error}:{where}"


def _database_problem(error: BaseException) -> tuple[int, str] | None:
    """Database errors, recognised without importing SQLAlchemy if it was never loaded."""
    kind = type(error)
    if not kind.__module__.startswith(("sqlalchemy", "psycopg")):
        return None
    cause = getattr(error, "orig", None) or error
    reason = str(cause).strip().splitlines()[0] if str(cause).strip() else kind.__name__
    if kind.__name__ == "ArgumentError":
        return USAGE, f"not a store URL: {reason} (use a file path or postgresql://...)"
    if kind.__name__ == "OperationalError":
        return FAILURE, f"cannot reach the store: {reason} (is the database server up?)"
    return FAILURE, f"the store refused the operation: {reason}"
