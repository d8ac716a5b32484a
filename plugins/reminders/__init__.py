"""Reminders delivered by the server: EMAIL alarms by mail, marked alarms to a chat webhook.

``alarms`` computes firings from iCalendar text, ``scheduler`` is the worker
``murmeli serve`` runs, ``delivery`` writes the messages, ``store`` keeps what
was sent and stopped, ``routes`` serves the public stop link.
"""
