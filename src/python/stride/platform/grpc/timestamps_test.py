from datetime import UTC, datetime

import pytest
from google.protobuf import timestamp_pb2

from stride.platform.grpc.timestamps import moment, timestamp


@pytest.mark.parametrize(
    "stamp",
    [
        timestamp_pb2.Timestamp(seconds=0, nanos=0),
        timestamp_pb2.Timestamp(seconds=1_796_000_000, nanos=123_456_789),
        timestamp_pb2.Timestamp(seconds=7_258_118_399, nanos=999_999_999),
    ],
)
def test_a_timestamp_reads_as_to_datetime_reads_it(stamp: timestamp_pb2.Timestamp) -> None:
    assert moment(stamp) == stamp.ToDatetime(UTC)
    assert moment(stamp).tzinfo is UTC


def test_a_moment_goes_there_and_back() -> None:
    at = datetime(2026, 12, 2, 13, 15, 0, 250_000, tzinfo=UTC)
    assert moment(timestamp(at)) == at
