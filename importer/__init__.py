"""The IMAP bulk-import daemon (issue 5)."""
