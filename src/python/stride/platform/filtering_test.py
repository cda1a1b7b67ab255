from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from stride.platform.errors import InvalidArgument
from stride.platform.filtering import (
    INT32_RANGE,
    Comparison,
    FilterField,
    FilterSchema,
    Operator,
    Value,
)
from stride.platform.i18n import CATALOG

STATES = ("STATE_PENDING", "STATE_SENT", "STATE_FAILED")
SCHEMA = FilterSchema(
    {
        "start_time": FilterField.timestamp(),
        "instructor": FilterField.string(),
        "free_spots": FilterField.integer(),
        "cancelled": FilterField.boolean(),
        "state": FilterField.enum(STATES),
    }
)


def refusal(text: str) -> tuple[str, dict[str, object]]:
    with pytest.raises(InvalidArgument) as raised:
        SCHEMA.parse(text)
    (violation,) = raised.value.violations
    assert violation.field == "filter"
    return violation.message_key, dict(violation.params)


def test_comparisons_joined_by_and() -> None:
    parsed = SCHEMA.parse(
        'start_time >= "2027-03-01T09:00:00+03:00" AND startTime < 2027-03-02T00:00:00Z'
        ' AND instructor = "users/a \\"b\\" \\\\ c" AND free_spots > 0 AND cancelled = false'
        " AND state != STATE_SENT"
    )
    assert parsed == (
        Comparison("start_time", Operator.GREATER_OR_EQUAL, datetime(2027, 3, 1, 6, tzinfo=UTC)),
        Comparison("start_time", Operator.LESS, datetime(2027, 3, 2, tzinfo=UTC)),
        Comparison("instructor", Operator.EQUAL, 'users/a "b" \\ c'),
        Comparison("free_spots", Operator.GREATER, 0),
        Comparison("cancelled", Operator.EQUAL, False),
        Comparison("state", Operator.NOT_EQUAL, "STATE_SENT"),
    )


def test_text_enums_and_times_may_be_quoted_numbers_and_booleans_not() -> None:
    assert SCHEMA.parse('state = "STATE_SENT"') == SCHEMA.parse("state = STATE_SENT")
    assert SCHEMA.parse('start_time > "2027-03-01T06:00:00Z"')[0].value == datetime(
        2027, 3, 1, 6, tzinfo=UTC
    )
    assert refusal('cancelled = "true"')[0] == "filter.expected_boolean"


def test_an_empty_filter_keeps_everything() -> None:
    assert SCHEMA.parse("") == SCHEMA.parse("   ") == ()


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("colour = red", "filter.unknown_field", {"field": "colour"}),
        ("instructor > users/1", "filter.operator", {"operator": ">", "operators": "= !="}),
        ("state < STATE_SENT", "filter.operator", {"field": "state"}),
        ("free_spots > some", "filter.expected_integer", {"value": "some"}),
        ('free_spots > "1"', "filter.expected_integer", {"value": "1"}),
        ("free_spots > 2147483648", "filter.expected_integer", {}),
        ("cancelled = yes", "filter.expected_boolean", {"value": "yes"}),
        ("state = STATE_LOST", "filter.expected_enum", {"choices": ", ".join(STATES)}),
        ("start_time > 2027-03-01T09:00:00", "filter.expected_timestamp", {}),  # No offset.
        ("start_time > 2027-03-01", "filter.expected_timestamp", {}),
        ("start_time > 0001-01-01T00:00:00+01:00", "filter.expected_timestamp", {}),
        ("state = STATE_SENT AND state = STATE_FAILED", "filter.repeated_field", {}),
        ("free_spots > 0 OR free_spots = 0", "filter.syntax", {"position": 16}),
        ("free_spots > 0 and cancelled = true", "filter.syntax", {"position": 16}),
        ("free_spots > 0 AND", "filter.syntax", {"position": 19}),
        ("free_spots >", "filter.syntax", {"position": 13}),
        ("free_spots = > 1", "filter.syntax", {"position": 14}),
        ("(free_spots > 0)", "filter.syntax", {"position": 1}),
        ('instructor = "users/1', "filter.syntax", {"position": 14}),
        ("free_spots ! 1", "filter.syntax", {"position": 12}),
        ("Free_spots = 1", "filter.syntax", {"position": 1}),
        ('"free_spots" = 1', "filter.syntax", {"position": 1}),
    ],
)
def test_what_cannot_be_read_is_refused_on_the_filter_field(
    text: str, key: str, params: dict[str, object]
) -> None:
    found_key, found_params = refusal(text)
    assert found_key == key
    assert params.items() <= found_params.items()
    assert CATALOG.translate(found_key, "ar", found_params) != found_key


def test_unknown_fields_are_told_what_can_be_filtered() -> None:
    _, params = refusal("colour = red")
    assert params["fields"] == "cancelled, free_spots, instructor, start_time, state"


def test_inequalities_and_ranges_may_repeat_a_field() -> None:
    parsed = SCHEMA.parse(
        "free_spots > 0 AND free_spots <= 5 AND state != STATE_SENT AND state != STATE_FAILED"
    )
    assert [comparison.field for comparison in parsed] == ["free_spots"] * 2 + ["state"] * 2


def test_operators_compare_as_written() -> None:
    assert {symbol.value: symbol.compare(1, 2) for symbol in Operator} == {
        "=": False,
        "!=": True,
        "<": True,
        "<=": True,
        ">": False,
        ">=": False,
    }


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_moments = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=5))]),
)
_comparisons = st.one_of(
    st.tuples(
        st.just("start_time"),
        st.sampled_from(list(Operator)),
        _moments.map(lambda moment: (moment.isoformat(), moment.astimezone(UTC))),
    ),
    st.tuples(
        st.just("instructor"),
        st.sampled_from([Operator.EQUAL, Operator.NOT_EQUAL]),
        st.text(st.characters(blacklist_categories=("Cs", "Cc"))).map(lambda t: (_quoted(t), t)),
    ),
    st.tuples(
        st.just("free_spots"),
        st.sampled_from(list(Operator)),
        st.integers(*INT32_RANGE).map(lambda n: (str(n), n)),
    ),
    st.tuples(
        st.just("state"),
        st.sampled_from([Operator.NOT_EQUAL]),
        st.sampled_from(STATES).map(lambda name: (name, name)),
    ),
)


@given(st.lists(_comparisons, max_size=6), st.sampled_from([" ", "  ", "\t", "\n "]))
def test_any_filter_written_with_the_grammar_reads_back(
    written: list[tuple[str, Operator, tuple[str, Value]]], space: str
) -> None:
    equalities = [field for field, symbol, _ in written if symbol is Operator.EQUAL]
    assume(len(equalities) == len(set(equalities)))
    text = f"{space}AND{space}".join(
        f"{field}{space}{symbol.value}{space}{literal}" for field, symbol, (literal, _) in written
    )
    expected = tuple(Comparison(field, symbol, value) for field, symbol, (_, value) in written)
    assert SCHEMA.parse(text) == expected


def _refused_fields(text: str) -> list[str]:
    try:
        SCHEMA.parse(text)
    except InvalidArgument as refused:
        return [violation.field for violation in refused.violations]
    return []


@given(st.text(max_size=80))
def test_anything_else_is_an_invalid_filter_never_a_crash(text: str) -> None:
    assert _refused_fields(text) in ([], ["filter"])
