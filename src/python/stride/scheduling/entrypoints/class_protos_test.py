import uuid

import pytest

from stride.platform.errors import InvalidArgument
from stride.scheduling.entrypoints.class_protos import instructor_name

COACH = uuid.UUID("7d9f2c1e-4b3a-4e8d-9c0f-1a2b3c4d5e6f")


@pytest.mark.parametrize(
    "spelled",
    [
        f"users/{COACH}",
        f"users/{str(COACH).upper()}",
        f"users/{{{COACH}}}",
        f"users/urn:uuid:{COACH}",
    ],
)
def test_an_instructor_is_named_one_way_however_the_id_is_spelled(spelled: str) -> None:
    """Stored and compared as such: two spellings of one coach are one coach (no double
    booking past the busy check, no overflowing the column)."""
    assert instructor_name(spelled, "instructor") == f"users/{COACH}"


def test_no_instructor_stays_none_and_anything_else_is_refused() -> None:
    assert instructor_name("", "instructor") == ""
    with pytest.raises(InvalidArgument):
        instructor_name("users/not-a-uuid", "instructor")
