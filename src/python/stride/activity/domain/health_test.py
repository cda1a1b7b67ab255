from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stride.activity.domain.health import (
    Aggregate,
    DeviceType,
    GivenSample,
    HealthKind,
    Rejection,
    Resolution,
    Rollup,
    RollupRange,
    Sample,
    aggregate,
    check_range,
    check_source,
    coarsen,
    full_priority,
    judge,
    merge_all,
    pick_by_priority,
    zone_seconds,
)
from stride.activity.domain.privacy import Consent
from stride.platform.errors import InvalidArgument

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
OLDEST = NOW - timedelta(days=90)
CONSENTING = Consent(uuid.uuid4(), heart_rate=True)
AT = NOW - timedelta(hours=1)


def given(
    kind: HealthKind | None,
    value: float,
    unit: str,
    *,
    id: str = "a",
    start: datetime = AT,
    seconds: float = 0,
) -> GivenSample:
    return GivenSample(id, kind, value, unit, start, start + timedelta(seconds=seconds))


@pytest.mark.parametrize(
    ("sample", "value"),
    [
        (given(HealthKind.HEART_RATE, 72, "count/min"), 72),
        (given(HealthKind.HEART_RATE, 1.5, "count/s"), 90),
        (given(HealthKind.STEPS, 120, "count", seconds=60), 120),
        (given(HealthKind.DISTANCE, 1.2, "km", seconds=600), 1200),
        (given(HealthKind.DISTANCE, 1, "mi", seconds=600), 1609.344),
        (given(HealthKind.DISTANCE, 100, "yd", seconds=60), 91.44),
        (given(HealthKind.ACTIVE_ENERGY, 418.4, "kJ", seconds=600), 100),
        (given(HealthKind.ACTIVE_ENERGY, 100, "Cal", seconds=600), 100),
    ],
)
def test_units_are_converted_to_one_per_kind(sample: GivenSample, value: float) -> None:
    judged = judge([sample], NOW, OLDEST, CONSENTING)
    assert judged.rejections == []
    (stored,) = judged.fit
    assert stored.value == pytest.approx(value)


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        (given(HealthKind.HEART_RATE, 0, "count/min"), "health_sample.impossible_value"),
        (given(HealthKind.HEART_RATE, 400, "count/min"), "health_sample.impossible_value"),
        (given(HealthKind.DISTANCE, -5, "m", seconds=60), "health_sample.impossible_value"),
        (given(HealthKind.STEPS, 5000, "count", seconds=10), "health_sample.impossible_value"),
        (given(HealthKind.HEART_RATE, 70, "kg"), "health_sample.unknown_unit"),
        (given(HealthKind.STEPS, 10, "m", seconds=60), "health_sample.unknown_unit"),
        (given(None, 10, "count"), "health_sample.unknown_kind"),
        (given(HealthKind.HEART_RATE, 70, "count/min", id=" "), "health_sample.id_required"),
        (given(HealthKind.STEPS, 10, "count", seconds=-60), "health_sample.ends_first"),
        (
            given(HealthKind.STEPS, 10, "count", seconds=25 * 3600),
            "health_sample.too_long",
        ),
        (
            given(HealthKind.HEART_RATE, 70, "count/min", start=NOW + timedelta(minutes=6)),
            "health_sample.in_future",
        ),
        (
            given(HealthKind.HEART_RATE, 70, "count/min", start=OLDEST - timedelta(seconds=1)),
            "health_sample.too_old",
        ),
    ],
)
def test_a_bad_sample_is_refused_with_its_reason(sample: GivenSample, reason: str) -> None:
    good = given(HealthKind.HEART_RATE, 70, "count/min", id="good")
    judged = judge([sample, good], NOW, OLDEST, CONSENTING)
    assert judged.rejections == [Rejection(0, sample.id, reason)]
    assert [s.id for s in judged.fit] == ["good"]


def test_a_phone_clock_a_little_ahead_is_tolerated_and_an_id_sent_twice_is_refused() -> None:
    ahead = given(HealthKind.HEART_RATE, 70, "count/min", start=NOW + timedelta(minutes=4))
    again = given(HealthKind.HEART_RATE, 71, "count/min")
    judged = judge([ahead, again], NOW, OLDEST, CONSENTING)
    assert judged.rejections == [Rejection(1, "a", "health_sample.repeated")]
    assert len(judged.fit) == 1


def test_heart_rate_is_refused_without_consent_and_steps_are_not() -> None:
    heart = given(HealthKind.HEART_RATE, 70, "count/min", id="heart")
    resting = given(HealthKind.RESTING_HEART_RATE, 55, "count/min", id="resting")
    steps = given(HealthKind.STEPS, 1200, "count", id="steps", seconds=600)
    judged = judge([heart, resting, steps], NOW, OLDEST, Consent(uuid.uuid4()))
    assert judged.rejections == [
        Rejection(0, "heart", "health_sample.no_consent"),
        Rejection(1, "resting", "health_sample.no_consent"),
    ]
    assert [s.id for s in judged.fit] == ["steps"]


def test_zones_are_shares_of_the_maximum_heart_rate() -> None:
    assert zone_seconds(90, 1, 190) == (0, 0, 0, 0, 0)  # 47 %
    assert zone_seconds(95, 1, 190) == (1, 0, 0, 0, 0)  # 50 %
    assert zone_seconds(133, 2, 190) == (0, 0, 2, 0, 0)  # 70 %
    assert zone_seconds(171, 1, 190) == (0, 0, 0, 0, 1)  # 90 %
    assert zone_seconds(200, 1, 190) == (0, 0, 0, 0, 1)
    assert zone_seconds(171, 1, 200) == (0, 0, 0, 1, 0)  # A higher maximum: 85.5 %


def heart(bpm: float, at: datetime, seconds: float = 0) -> Sample:
    return Sample(str(at), HealthKind.HEART_RATE, bpm, at, at + timedelta(seconds=seconds))


def test_figures_per_bucket_and_an_instant_reading_counts_one_second() -> None:
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    samples = [
        heart(100, start),
        heart(180, start + timedelta(seconds=30)),
        heart(140, start + timedelta(minutes=1), 5),
    ]
    by_minute = aggregate(samples, Resolution.MINUTE, 190)
    assert by_minute == {
        (HealthKind.HEART_RATE, start): Aggregate(2, 280, 100, 180, (1, 0, 0, 0, 1)),
        (HealthKind.HEART_RATE, start + timedelta(minutes=1)): Aggregate(
            1, 140, 140, 140, (0, 0, 5, 0, 0)
        ),
    }
    (hour,) = aggregate(samples, Resolution.HOUR, 190).values()
    assert (hour.count, hour.average, hour.zone_seconds) == (3, 140, (1, 0, 5, 0, 1))


def test_merging_batches_equals_aggregating_them_together() -> None:
    start = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    first = [heart(100 + n, start + timedelta(seconds=n)) for n in range(30)]
    second = [heart(160 - n, start + timedelta(seconds=30 + n)) for n in range(30)]
    key = (HealthKind.HEART_RATE, start)
    together = aggregate(first + second, Resolution.MINUTE, 190)[key]
    merged = aggregate(first, Resolution.MINUTE, 190)[key].merge(
        aggregate(second, Resolution.MINUTE, 190)[key]
    )
    assert merged == together
    assert merge_all([]) is None
    assert merge_all([together]) == together


def test_hours_and_days_from_a_batch_s_minutes_equal_them_from_its_samples() -> None:
    start = datetime(2026, 12, 2, 23, 58, tzinfo=UTC)  # Across an hour and a day.
    samples = [heart(90 + n % 90, start + timedelta(seconds=7 * n), n % 3) for n in range(100)]
    minutes = aggregate(samples, Resolution.MINUTE, 190)
    hours = coarsen(minutes, Resolution.HOUR)
    assert hours == aggregate(samples, Resolution.HOUR, 190)
    assert coarsen(hours, Resolution.DAY) == aggregate(samples, Resolution.DAY, 190)
    assert len(coarsen(hours, Resolution.DAY)) == 2


def test_each_bucket_comes_from_the_device_kind_ranked_first() -> None:
    day = datetime(2026, 12, 1, tzinfo=UTC)
    steps = HealthKind.STEPS

    def rollup(device: DeviceType, start: datetime, total: float) -> Rollup:
        return Rollup(steps, device, start, Aggregate(1, total, total, total))

    stored = [
        rollup(DeviceType.PHONE, day, 9000),
        rollup(DeviceType.WATCH, day, 8000),
        rollup(DeviceType.PHONE, day + timedelta(days=1), 4000),
    ]
    picked = pick_by_priority(stored, full_priority(()))
    assert [(r.device_type, r.figures.total) for r in picked] == [
        (DeviceType.WATCH, 8000),
        (DeviceType.PHONE, 4000),
    ]
    phone_first = pick_by_priority(stored, (DeviceType.PHONE,))
    assert [r.figures.total for r in phone_first] == [9000, 4000]
    assert full_priority((DeviceType.PHONE, DeviceType.PHONE))[:2] == (
        DeviceType.PHONE,
        DeviceType.WATCH,
    )


def test_a_range_is_bounded_and_starts_on_a_bucket() -> None:
    start = datetime(2026, 1, 1, 7, 30, tzinfo=UTC)
    year = check_range(
        RollupRange(HealthKind.STEPS, Resolution.DAY, start, start + timedelta(days=366))
    )
    assert year.start_time == datetime(2026, 1, 1, tzinfo=UTC)
    for end, reason in (
        (start, "health_rollup.ends_first"),
        (start + timedelta(days=2), "health_rollup.too_many_buckets"),
    ):
        with pytest.raises(InvalidArgument) as refused:
            check_range(RollupRange(HealthKind.STEPS, Resolution.MINUTE, start, end))
        assert [v.message_key for v in refused.value.violations] == [reason]
    with pytest.raises(InvalidArgument):
        check_source("fitbit")
