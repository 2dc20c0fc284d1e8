"""One error tree for everything Safeguard records against an item.

Every failure that concerns a single piece of evidence (a file that cannot be
read, an image that cannot be decoded, an input over a safety cap) is raised as
a subclass of :class:`ItemError`. Callers catch that one class, record
``str(error)`` against the item and carry on with the next one, so nothing is
lost silently and nothing stops a run.
"""


class SafeguardError(Exception):
    """Base of every error Safeguard raises on purpose."""


class UsageError(SafeguardError):
    """The caller asked for something that cannot be done (bad option, bad value)."""


class NotFound(UsageError):
    """The caller named a list, entry, key or webhook that does not exist."""


class ItemError(SafeguardError):
    """A single item failed; the message is meant for the examiner's report."""


class SourceError(ItemError):
    """The item's bytes could not be read (missing, not a regular file, permissions, I/O)."""


class SymlinkLoopError(SourceError):
    """A directory link points back into a directory already being walked."""


class MediaError(ItemError):
    """The bytes were read but could not be turned into pixels."""


class UnsupportedMediaError(MediaError):
    """The content is not in a format Safeguard decodes (or claims a format it is not)."""


class UndecodableImageError(UnsupportedMediaError):
    """A picture in a format recognised but with no decoder here (JPEG XL, a raw photo)."""


class DecodeError(MediaError):
    """The content is in a known format but is corrupt or truncated."""


class TruncatedImageError(DecodeError):
    """The picture ends early: only the part before the cut can be decoded."""


class MediaTooLargeError(MediaError):
    """Decoding would exceed a configured safety cap (a decompression bomb, for instance)."""
