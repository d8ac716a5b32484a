"""The relay's refusals as SMTP replies: a code, an enhanced status (RFC 3463) and a reason.

Every part of the relay that can refuse a message raises ``SmtpReply``; the
listener gives its text to the client as it is. 4xx tells the client or mail
server to try again later, 5xx that retrying the same message will not help.
"""

from __future__ import annotations


class SmtpReply(Exception):
    def __init__(self, code: int, status: str, reason: str) -> None:
        super().__init__(f"{code} {status} {reason}")
        self.code = code

    @property
    def reply(self) -> str:
        return str(self)

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500
