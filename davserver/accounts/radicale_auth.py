"""Radicale auth plugin: Murmeli's accounts and app passwords, with the user's groups.

The groups (teams, and ``org`` for everyone but externals) let Radicale's map
sharing resolve team and organisation-wide shares for the logged-in user.
A locked-out login is refused like a wrong password; Radicale logs it and
waits ``auth.delay`` before answering 401.
"""

from __future__ import annotations

from radicale import auth, config

from davserver.accounts.authenticator import Authenticator
from davserver.accounts.directory import Directory


class Auth(auth.BaseAuth):
    def __init__(
        self,
        configuration: config.Configuration,
        authenticator: Authenticator,
        directory: Directory,
    ) -> None:
        super().__init__(configuration)
        # Radicale names its auth type in failed-login lines; ours is a factory, not a name.
        self._type = "murmeli"
        self._authenticator = authenticator
        self._directory = directory

    def _login_ext_with_groups(
        self, login: str, password: str, context: auth.AuthContext
    ) -> tuple[str, set]:
        name = self._authenticator.login(login, password, context.remote_addr or "").user
        user = self._directory.find(name) if name else None
        return (user.name, user.groups) if user else ("", set())
