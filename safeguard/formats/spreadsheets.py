"""CSV cells a spreadsheet will not run: formula injection neutralised on the way out.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel and LibreOffice as a formula (``=HYPERLINK(...)``,
``+cmd|' /C calc'!A0``). List names, partner notes and file names inside evidence
are chosen by others, so every text cell written to CSV gets a leading ``'`` when
it starts so, and Safeguard's own CSV reader takes it off again, so export and
import still round-trip.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def spreadsheet_restored(text: str) -> str:
    """The text a :func:`spreadsheet_safe` cell stood for."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
