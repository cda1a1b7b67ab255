"""Datetimes as protobuf Timestamps and back, for servicers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def moment(stamp: timestamp_pb2.Timestamp) -> datetime:
    """What `stamp.ToDatetime(UTC)` gives (to the microsecond), for requests carrying thousands
    of times: that method checks and converts in Python, this is two C calls. Request
    timestamps are in range already (the platform bounds them to 1970-2200)."""
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)
