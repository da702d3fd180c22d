"""Roles remember where they came from: an operator ("") or a platform they are synced from;
members can opt in to announcements by direct message where a platform asks for it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=16), server_default="", nullable=False))
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("announcement_dms", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("announcement_dms")

    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_column("source")
