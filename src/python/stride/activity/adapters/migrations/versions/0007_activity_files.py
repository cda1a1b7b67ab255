"""Routes of uploaded activity files (kept with location consent) and best efforts.

Revision ID: activity_0007
Revises: activity_0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "activity_0007"
down_revision = "activity_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "activity_routes",
        sa.Column("provider", sa.String(32), primary_key=True),
        sa.Column("external_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("times", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("latitudes", postgresql.ARRAY(sa.Double()), nullable=False),
        sa.Column("longitudes", postgresql.ARRAY(sa.Double()), nullable=False),
        sa.Column("elevations", postgresql.ARRAY(sa.Double()), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider", "external_id"],
            ["imported_activities.provider", "imported_activities.external_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("activity_routes_by_member", "activity_routes", ["member_id"])
    op.create_table(
        "best_efforts",
        sa.Column("member_id", sa.Uuid(), primary_key=True),
        sa.Column("distance", sa.String(16), primary_key=True),
        sa.Column("elapsed_seconds", sa.Double(), nullable=False),
        sa.Column("activity_id", sa.String(100), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("best_efforts", "activity_routes"):
        op.drop_table(table)
