"""Revision 0002: tombstones of expired and withdrawn secure messages (crypto/secure_store.py)."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "secure_message_tombstones",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("link_digest", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(8), nullable=False),
        sa.Column("ended_at", sa.Integer, nullable=False),
    )
    op.create_index(
        "ix_secure_message_tombstones_ended_at", "secure_message_tombstones", ["ended_at"]
    )


def downgrade() -> None:
    op.drop_table("secure_message_tombstones")
