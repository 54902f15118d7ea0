"""The one exception every command raises to report a failure: one line on stderr, exit status 1."""


class CommandError(Exception):
    """A failure to report as one line on stderr."""
