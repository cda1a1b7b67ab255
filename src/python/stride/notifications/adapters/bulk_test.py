from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from stride.notifications.adapters.bulk import unnest


def test_each_column_is_one_array_parameter_read_back_as_named_columns() -> None:
    ids = [uuid.uuid4(), uuid.uuid4()]
    rows = unnest("batch", id=(sa.Uuid(), ids), title=(sa.String(), ["عرض", "offer"]))

    compiled = sa.select(*rows.c).compile(dialect=PGDialect_asyncpg())  # type: ignore[no-untyped-call]

    assert list(rows.c.keys()) == ["id", "title"]
    assert "unnest($1::UUID[], $2::VARCHAR[]) AS batch(id, title)" in str(compiled)
    assert compiled.params == {"batch_id": ids, "batch_title": ["عرض", "offer"]}


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        unnest("batch", id=(sa.Uuid(), [uuid.uuid4()]), title=(sa.String(), []))
