"""Why a whole file is refused (too large, undecodable, malformed), or one card of it left
out: shown to the user as is."""

from davserver.accounts.directory import AccountError
from plugins.contacts_import.validate import Problem


class ImportRefused(AccountError):
    """The file cannot be imported at all; nothing was written."""


class BrokenCard(ImportRefused):
    """One card cannot be read (or a line between cards): the card is left out and reported
    by the line of the fault, or the whole file refused when the import is all or nothing."""

    def __init__(self, line: int, reason: str, card_line: int | None = None) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason
        self.card_line = card_line  # None: a line outside any card

    def as_problem(self) -> Problem:
        if self.card_line is None:
            return Problem(self.line, f"{self.reason}; ignored")
        if self.card_line == self.line:
            return Problem(self.line, f"skipped the card: {self.reason}")
        return Problem(self.line, f"skipped the card of line {self.card_line}: {self.reason}")
