"""Datetimes as protobuf Timestamps and back, for servicers."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2


def timestamp(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def moment(stamp: timestamp_pb2.Timestamp) -> datetime:
    """What `stamp.ToDatetime(UTC)` gives (to the microsecond), for requests carrying thousands
    of times: that method checks and converts in Python, this is a C call or two (whole seconds
    convert exactly). Request timestamps are in range already (the platform bounds them to
    1970-2200)."""
    at = datetime.fromtimestamp(stamp.seconds, UTC)
    nanos = stamp.nanos
    return at.replace(microsecond=nanos // 1000) if nanos else at
