"""The schema of Murmeli's own state, in one place so it can be read (and migrated) at a glance.

Radicale's collections are not here: they stay in Radicale's storage.
Columns use portable types only, so SQLite and PostgreSQL share this schema.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("email", String(254), unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255)),
    Column("created_at", Integer, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("name", String(64), primary_key=True),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team", String(64), ForeignKey("teams.name"), primary_key=True),
    Column("user", String(64), ForeignKey("users.name"), primary_key=True, index=True),
)

app_passwords = Table(
    "app_passwords",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("label", String(100), nullable=False),
    Column("digest", String(80), nullable=False, unique=True),
    Column("created_at", Integer, nullable=False),
    UniqueConstraint("user", "label"),
)

# Failed logins per account and per client address, for the lock-out; kept in the
# database so a restart does not forgive them (and several nodes would share them).
login_failures = Table(
    "login_failures",
    metadata,
    Column("kind", String(8), primary_key=True),
    Column("key", String(254), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("first_at", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=False),
)

shares = Table(
    "shares",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(512), nullable=False, index=True),
    Column("owner", String(64), ForeignKey("users.name"), nullable=False, index=True),
    Column("target_kind", String(8), nullable=False),
    Column("target_name", String(64), nullable=False),
    Column("access", String(8), nullable=False),
    Column("created_at", Integer, nullable=False),
    UniqueConstraint("collection", "target_kind", "target_name"),
)

# One public .ics link per calendar (plugins/publish). No foreign key on the
# owner: removing a user must not fail on a link; the feed joins ``users`` instead.
published_calendars = Table(
    "published_calendars",
    metadata,
    Column("collection", String(512), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    # The link's secret: found by its SHA-256, shown again to its owner from the sealed copy.
    Column("token_digest", String(64), nullable=False, unique=True),
    Column("sealed_token", LargeBinary),
    # A link of release 0.1.0 until the next start seals it (migration 0003).
    Column("unsealed_token", String(64)),
    Column("mode", String(16), nullable=False),
    Column("created_at", Integer, nullable=False),
)

# Reminders (plugins/reminders). Keys are SHA-256 hex digests of the firing or
# alarm identity; stop tokens are kept only as digests.
reminder_scans = Table(
    "reminder_scans",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("scanned_to", Integer, nullable=False),
)

reminders_sent = Table(
    "reminders_sent",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("fire_at", Integer, nullable=False, index=True),
)

reminder_stop_links = Table(
    "reminder_stop_links",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("alarm_key", String(64), nullable=False, index=True),
    Column("summary", String(500), nullable=False),
    Column("created_at", Integer, nullable=False, index=True),
)

reminders_stopped = Table(
    "reminders_stopped",
    metadata,
    Column("alarm_key", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("stopped_at", Integer, nullable=False),
)

# Duplicate contacts (plugins/duplicates): groups an owner asked not to be
# proposed again, and one undo record per merge (full card texts, as JSON).
hidden_duplicate_groups = Table(
    "hidden_duplicate_groups",
    metadata,
    Column("addressbook", String(512), primary_key=True),
    Column("group_id", String(16), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("hidden_at", Integer, nullable=False),
)

duplicate_merges = Table(
    "duplicate_merges",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False, index=True),
    Column("addressbook", String(512), nullable=False),
    Column("before", Text, nullable=False),
    Column("after", Text, nullable=False),
    Column("created_at", Integer, nullable=False, index=True),
)

# A merge being written: committed with its undo record before any card
# changes, removed once every card is written. One left behind by a crash
# marks a merge that reached the address book only in part (undo still works).
unfinished_duplicate_merges = Table(
    "unfinished_duplicate_merges",
    metadata,
    Column("merge_id", String(32), primary_key=True),
)

# IMAP import (importer/). The identity index of destination folders: rebuilt
# from the destination when missing, or when its UIDVALIDITY changed; IMAP
# UIDs and UIDVALIDITY are unsigned 32-bit, hence BigInteger.
import_mailboxes = Table(
    "import_mailboxes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(254), nullable=False),
    Column("folder", String(1000), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("indexed_to", BigInteger, nullable=False),
    UniqueConstraint("account", "folder"),
)

import_identities = Table(
    "import_identities",
    metadata,
    Column("mailbox", Integer, ForeignKey("import_mailboxes.id"), primary_key=True),
    Column("identity", String(64), primary_key=True, index=True),
)

# Where each job stands in each source folder: committed after every batch.
import_progress = Table(
    "import_progress",
    metadata,
    Column("job", String(32), primary_key=True),
    Column("folder", String(1000), primary_key=True),
    Column("destination", String(1000), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("copied", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
)

# Import jobs (importer/jobs.py). Passwords are AES-GCM sealed (importer/credentials.py)
# and set to NULL when the job ends.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source_host", String(255), nullable=False),
    Column("source_port", Integer, nullable=False),
    Column("source_security", String(8), nullable=False),
    Column("source_login", String(254), nullable=False),
    Column("source_password", LargeBinary),
    Column("destination_login", String(254), nullable=False),
    Column("destination_password", LargeBinary),
    Column("prefix", String(255)),
    Column("state", String(16), nullable=False, index=True),
    Column("error", Text),
    Column("cancel_requested", Boolean, nullable=False),
    Column("total_messages", Integer),
    Column("created_at", Integer, nullable=False),
    Column("started_at", Integer),
    Column("finished_at", Integer),
)

# OpenPGP keys of the relay (crypto/keys.py). The private key is stored only
# wrapped with AES-256-GCM under the key-encryption key (KEK) of the
# configuration (crypto/wrapping.py); ``key_version`` is bound into the
# wrapping, so a row cannot be swapped for an older one. The single row of
# ``openpgp_kek_check`` proves at start-up that the configured KEK is the one
# the keys were wrapped with.
openpgp_keys = Table(
    "openpgp_keys",
    metadata,
    Column("address", String(254), primary_key=True),
    Column("fingerprint", String(40), nullable=False, unique=True),
    Column("key_version", Integer, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("wrapped_private_key", LargeBinary, nullable=False),
    Column("created_at", Integer, nullable=False),
)

openpgp_kek_check = Table(
    "openpgp_kek_check",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("check_value", LargeBinary, nullable=False),
)

# Public keys of outside recipients (crypto/recipient_keys.py), one keyring per
# user: a key a user imported is used only for mail that user sends.
openpgp_recipient_keys = Table(
    "openpgp_recipient_keys",
    metadata,
    Column("owner", String(64), ForeignKey("users.name", ondelete="CASCADE"), primary_key=True),
    Column("address", String(254), primary_key=True),
    Column("fingerprint", String(40), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("created_at", Integer, nullable=False),
)

# Password-protected messages to outside recipients (crypto/secure_delivery.py).
# The message is sealed with AES-256-GCM under a key derived from the sender's
# password by Argon2id (``kdf`` names the parameters); the password is never
# stored, the link's secret only as a SHA-256 digest. The subject is kept
# readable, as everywhere in the relay, so the sender can tell messages apart.
# ``sealed`` is set to NULL on revocation; the row goes when it expires.
secure_messages = Table(
    "secure_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("link_digest", String(64), nullable=False),
    Column("sender", String(254), nullable=False, index=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("kdf", String(64), nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("sealed", LargeBinary),
    Column("failures", Integer, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("expires_at", Integer, nullable=False, index=True),
    Column("revoked_at", Integer),
    # SHA-256 of sender, recipient and message, for the relay: a client retrying
    # the same message gets this deposit back instead of a second one.
    Column("retry_key", String(64), index=True),
)

# What stays of a secure message once its row goes (expired, or withdrawn then
# expired): its id and link digest, so its link still says why it cannot be
# read, while a made-up link answers 404. Kept for a year (crypto/secure_store.py).
secure_message_tombstones = Table(
    "secure_message_tombstones",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("link_digest", String(64), nullable=False),
    Column("reason", String(8), nullable=False),
    Column("ended_at", Integer, nullable=False, index=True),
)

# CalDAV scheduling (plugins/scheduling). Where each person's copy of a scheduled
# event lives (so a reply finds the organiser's copy without a scan), the
# outgoing iMIP mail queue (sent by a worker, never inside a request), and the
# answer links of invitations, kept only as SHA-256 digests of their tokens.
scheduling_copies = Table(
    "scheduling_copies",
    metadata,
    Column("uid", String(512), primary_key=True),
    Column("user", String(64), primary_key=True),
    Column("path", String(1024), nullable=False),
    Column("role", String(10), nullable=False),
)

scheduling_mail = Table(
    "scheduling_mail",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("organiser", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Integer, nullable=False, index=True),
    Column("sent_at", Integer, index=True),
    Column("error", Text),
)

scheduling_answer_links = Table(
    "scheduling_answer_links",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("organiser", String(64), nullable=False),
    Column("uid", String(512), nullable=False, index=True),
    Column("attendee", String(254), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("created_at", Integer, nullable=False, index=True),
    Column("used_at", Integer),
)

# The Schedule-Tag (RFC 6638 §3.2.10) of each scheduling object resource, by item
# path (/user/calendar/x.ics): unlike the ETag, it changes only with the
# organiser's changes, so clients can tell those from merged answers.
scheduling_tags = Table(
    "scheduling_tags",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("tag", String(64), nullable=False),
)
