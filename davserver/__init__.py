"""The CalDAV/CardDAV server: Radicale composed with Murmeli's accounts, routes and plugins."""
