"""Why a whole file is refused (too large, undecodable, malformed): shown to the user as is."""

from davserver.accounts.directory import AccountError


class ImportRefused(AccountError):
    """The file cannot be imported at all; nothing was written."""
