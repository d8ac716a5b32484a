"""Sharing of calendars and address books with a user, a team or the whole organisation.

Shares are Murmeli's (``shares``); Radicale's own map sharing does the rest
(``store`` presents our shares to it): the shared collection appears under the
recipient's home as ``/<recipient>/<owner>~<collection>/`` and Radicale enforces
read-only or read-write on every request.
"""
