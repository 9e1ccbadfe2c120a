"""The one error type users see: a one-line message naming the bad value and what is allowed.

The CLI turns any `GroklabError` into that line on stderr and exit status 2.
"""


class GroklabError(Exception):
    """Bad input from the user; the message is one line and says what is allowed."""


class SpecError(GroklabError, ValueError):
    """A spec field (or flag, or TOML key) holds a value that is not allowed."""
