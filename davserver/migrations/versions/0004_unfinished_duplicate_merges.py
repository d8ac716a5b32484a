"""Revision 0004: merges of duplicate contacts being written (plugins/duplicates/store.py)."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "unfinished_duplicate_merges",
        sa.Column("merge_id", sa.String(32), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("unfinished_duplicate_merges")
