"""Invoices and their lines: numbered without gaps, immutable once issued.

Revision ID: billing_0007
Revises: billing_0006
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "billing_0007"
down_revision = "billing_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row: the last number issued. Taking the next one locks it until the invoice commits,
    # so numbers have no gaps (a rolled-back invoice gives its number back).
    op.create_table(
        "invoice_numbers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="one_counter"),
    )
    op.execute("INSERT INTO invoice_numbers (id, last) VALUES (1, 0)")
    op.create_table(
        "invoices",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("number", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("member_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("studio", sa.String(63), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(255), nullable=False, unique=True),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), sa.ForeignKey("invoices.id"), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("description_key", sa.String(64), nullable=False),
        sa.Column("net_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
    )
    op.execute(
        "CREATE FUNCTION invoices_immutable() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION '% is immutable once issued', TG_TABLE_NAME; END $$ "
        "LANGUAGE plpgsql"
    )
    for table in ("invoices", "invoice_lines"):
        op.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION invoices_immutable()"
        )


def downgrade() -> None:
    for table in ("invoices", "invoice_lines"):
        op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
    op.execute("DROP FUNCTION invoices_immutable()")
    op.drop_table("invoice_lines")
    op.drop_table("invoices")
    op.drop_table("invoice_numbers")
