"""Users, their roles and teams, account and per-device app passwords, and login."""
