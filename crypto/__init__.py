"""The OpenPGP encryption relay on SMTP (issue 6)."""
