"""Revision 0003: failed logins for the lock-out; public links kept as a digest and a sealed copy.

Release 0.1.0 stored each public link's token in clear. The table is rebuilt
with the token's SHA-256 (by which feeds are found, so every link keeps
working) and the clear token moved to ``unsealed_token``, which
``PublishedCalendars`` seals with the data folder's key and clears on the next
start: the migration has the database, not the key file.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("key", sa.String(254), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", sa.BigInteger, nullable=False),
        sa.Column("locked_until", sa.BigInteger, nullable=False),
    )
    links = op.create_table(
        "published_calendars_new",
        sa.Column("collection", sa.String(512), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("sealed_token", sa.LargeBinary, nullable=True),
        sa.Column("unsealed_token", sa.String(64), nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Integer, nullable=False),
    )
    old = op.get_bind().execute(
        sa.text("SELECT collection, owner, token, mode, created_at FROM published_calendars")
    )
    rows = [
        {
            "collection": row.collection,
            "owner": row.owner,
            "token_digest": hashlib.sha256(row.token.encode()).hexdigest(),
            "unsealed_token": row.token,
            "mode": row.mode,
            "created_at": row.created_at,
        }
        for row in old
    ]
    if rows:
        op.bulk_insert(links, rows)
    op.drop_index("ix_published_calendars_owner", "published_calendars")
    op.drop_table("published_calendars")
    op.rename_table("published_calendars_new", "published_calendars")
    op.create_index("ix_published_calendars_owner", "published_calendars", ["owner"])


def downgrade() -> None:
    raise NotImplementedError("public links cannot go back to clear tokens")
