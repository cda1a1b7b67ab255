"""A batch of rows as one statement parameter per column, read back in SQL with `unnest`.

A planned batch (thousands of notifications and pushes) or a settled one goes to Postgres as a
handful of arrays in a single statement. With `executemany` each row was a message of its
own that both the driver and the server parse and execute one at a time: for campaigns that,
not the work on the rows, bounded the rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine


def unnest(name: str, **columns: tuple[TypeEngine[Any], Sequence[Any]]) -> TableValuedAlias:
    """`unnest(:a, :b, …) AS name(a, b, …)`: row i holds the i-th value of each column's
    values, all of the same length."""
    lengths = {len(values) for _, values in columns.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns of {name} differ in length: {sorted(lengths)}")
    # asyncpg's dialect casts each to its array type, so Postgres knows what unnest returns.
    arrays: list[ColumnElement[Any]] = [
        sa.bindparam(f"{name}_{column}", list(values), type_=ARRAY(kind))
        for column, (kind, values) in columns.items()
    ]
    return sa.func.unnest(*arrays).table_valued(*columns).render_derived(name=name)
