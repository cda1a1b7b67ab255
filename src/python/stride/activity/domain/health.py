"""Health samples members' phones read from Apple Health (HealthKit) or Health Connect, and the
per-minute, hour and day figures kept from them.

A batch comes from one device of one source. Each sample is judged on its own: its unit must be
one the platform uses for its kind (converted to one unit per kind: bpm, steps, meters,
kilocalories), its value possible for a person, its times in order, not in the future and not
older than what is kept. A bad sample is answered with its reason and the rest are stored.

Figures (`Aggregate`) are kept per bucket, kind and kind of device, and merged incrementally: a
batch's aggregates merge into the stored ones (counts and sums add, extremes take the extreme),
so no upload reads the raw samples back. Where a watch and a phone both measured a bucket, a
reader sees the device kind the member ranks first (`pick_by_priority`): the priority applies
when reading, so changing it needs no rewrite.
"""

from __future__ import annotations

import enum
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, cast

from stride.activity.domain.heart_rate import ZONE_FLOORS, zone_of
from stride.activity.domain.privacy import Consent, HealthData
from stride.platform.errors import FieldViolation, InvalidArgument

# The phones' sources a member's app uploads from; providers and uploaded files store their
# samples under their own names (`store_samples`), never through the phones' upload.
SOURCES = frozenset({"healthkit", "health_connect"})
MAX_SAMPLES = 4000
# How far ahead of the server's clock a phone's clock may run before its times are refused.
CLOCK_SKEW = timedelta(minutes=5)
# The longest interval one sample may cover (a day's step count is the longest platforms write).
MAX_SAMPLE_LENGTH = timedelta(hours=24)
# An instant reading (start = end, as heart rates are) stands for the second it was taken: the
# platforms read heart rate every second during a workout, when time in zones matters.
INSTANT_SECONDS = 1.0
DEFAULT_MAX_HEART_RATE = 190.0
# A range read returns at most this many buckets.
MAX_BUCKETS = 1500


class HealthKind(enum.Enum):
    HEART_RATE = "heart_rate"
    RESTING_HEART_RATE = "resting_heart_rate"
    STEPS = "steps"
    DISTANCE = "distance"
    ACTIVE_ENERGY = "active_energy"


class DeviceType(enum.Enum):
    WATCH = "watch"
    FITNESS_BAND = "fitness_band"
    RING = "ring"
    CHEST_STRAP = "chest_strap"
    PHONE = "phone"
    SCALE = "scale"
    OTHER = "other"


# Wearables first (worn all day, they count what a phone left on a desk misses), then the phone.
DEFAULT_PRIORITY = (
    DeviceType.WATCH,
    DeviceType.FITNESS_BAND,
    DeviceType.RING,
    DeviceType.CHEST_STRAP,
    DeviceType.PHONE,
    DeviceType.SCALE,
    DeviceType.OTHER,
)

# Per kind: the units the platforms send (HealthKit's unit strings, Health Connect's units as
# apps spell them) and the factor to the kind's one unit.
_UNITS: dict[HealthKind, dict[str, float]] = {
    HealthKind.HEART_RATE: {"count/min": 1.0, "bpm": 1.0, "count/s": 60.0},
    HealthKind.RESTING_HEART_RATE: {"count/min": 1.0, "bpm": 1.0, "count/s": 60.0},
    HealthKind.STEPS: {"count": 1.0},
    HealthKind.DISTANCE: {
        "m": 1.0,
        "km": 1000.0,
        "cm": 0.01,
        "mi": 1609.344,
        "ft": 0.3048,
        "yd": 0.9144,
    },
    HealthKind.ACTIVE_ENERGY: {
        "kcal": 1.0,
        "Cal": 1.0,
        "cal": 0.001,
        "kJ": 1 / 4.184,
        "J": 1 / 4184.0,
    },
}

# What a person can measure, in the kind's unit: a value outside is a sensor or app error.
# Heart rates per reading; totals per sample and per second of the sample's interval.
_READING_RANGE = {
    HealthKind.HEART_RATE: (25.0, 250.0),
    HealthKind.RESTING_HEART_RATE: (25.0, 150.0),
}
_TOTAL_LIMITS = {
    # kind: (most in one sample, most per second of it)
    HealthKind.STEPS: (100_000.0, 10.0),
    HealthKind.DISTANCE: (500_000.0, 15.0),
    HealthKind.ACTIVE_ENERGY: (20_000.0, 1.0),
}


# Samples come by the thousand per request, so the types a batch is made of are named tuples:
# a dataclass instance costs several times as much to create, per sample, on the ingestion path.
class GivenSample(NamedTuple):
    """A sample as the phone sent it."""

    id: str
    kind: HealthKind | None  # None: a kind this version does not know.
    value: float
    unit: str
    start_time: datetime
    end_time: datetime | None


class Sample(NamedTuple):
    """A sample in its kind's unit, accepted for storing."""

    id: str
    kind: HealthKind
    value: float
    start_time: datetime
    end_time: datetime

    @property
    def seconds(self) -> float:
        """The time the sample stands for (see INSTANT_SECONDS)."""
        if self.end_time == self.start_time:
            return INSTANT_SECONDS
        return (self.end_time - self.start_time).total_seconds()


class Rejection(NamedTuple):
    """A sample refused: where it was in the batch, its id and why (a message key)."""

    position: int
    id: str
    reason: str


@dataclass(frozen=True)
class Judged:
    """A batch judged: the samples fit to store, in order, and those refused."""

    fit: list[Sample]
    rejections: list[Rejection]


@dataclass(frozen=True)
class Device:
    type: DeviceType
    manufacturer: str = ""
    model: str = ""
    name: str = ""


def check_source(source: str, field: str = "source") -> str:
    if source not in SOURCES:
        raise InvalidArgument([FieldViolation(field, "health_sample.unknown_source")])
    return source


# Kinds that are health data only kept with the member's consent (`domain.privacy`).
CONSENT_NEEDED = {
    HealthKind.HEART_RATE: HealthData.HEART_RATE,
    HealthKind.RESTING_HEART_RATE: HealthData.HEART_RATE,
}


def consented(kind: HealthKind | None, consent: Consent) -> bool:
    """Whether the member lets Activity keep and show `kind`."""
    needed = CONSENT_NEEDED.get(kind) if kind is not None else None
    return needed is None or consent.allows(needed)


def judge(
    given: Sequence[GivenSample],
    now: datetime,
    oldest: datetime,
    consent: Consent,
) -> Judged:
    """The samples fit to store (in their kind's unit) and those refused, with their reasons.
    `oldest` is where stored samples start (the retention's edge): older ones are refused, as
    nothing older is kept. A sample whose id came earlier in the batch is refused as repeated,
    and one of health data the member has not consented to keep as such."""
    accepted: list[Sample] = []
    rejections: list[Rejection] = []
    seen: set[str] = set()
    latest = now + CLOCK_SKEW
    kept = {kind for kind in HealthKind if consented(kind, consent)}
    for index, sample in enumerate(given):
        reason = _fault(sample, latest, oldest)
        if reason is None:
            if sample.id in seen:
                reason = "health_sample.repeated"
            elif sample.kind not in kept:
                reason = "health_sample.no_consent"
        seen.add(sample.id)
        if reason is not None:
            rejections.append(Rejection(index, sample.id, reason))
            continue
        kind = cast(HealthKind, sample.kind)  # _fault refuses unknown kinds.
        accepted.append(
            Sample(
                sample.id,
                kind,
                sample.value * _UNITS[kind][sample.unit],
                sample.start_time,
                sample.end_time or sample.start_time,
            )
        )
    return Judged(accepted, rejections)


def _fault(  # noqa: PLR0911 - one return per reason, in the order they are checked.
    sample: GivenSample, latest: datetime, oldest: datetime
) -> str | None:
    if not sample.id.strip():
        return "health_sample.id_required"
    if sample.kind is None:
        return "health_sample.unknown_kind"
    factor = _UNITS[sample.kind].get(sample.unit)
    if factor is None:
        return "health_sample.unknown_unit"
    end = sample.end_time or sample.start_time
    if end < sample.start_time:
        return "health_sample.ends_first"
    if end - sample.start_time > MAX_SAMPLE_LENGTH:
        return "health_sample.too_long"
    if end > latest:
        return "health_sample.in_future"
    if sample.start_time < oldest:
        return "health_sample.too_old"
    value = sample.value * factor
    if not math.isfinite(value):
        return "health_sample.impossible_value"
    if sample.kind in _READING_RANGE:
        least, most = _READING_RANGE[sample.kind]
        if not least <= value <= most:
            return "health_sample.impossible_value"
    else:
        most, per_second = _TOTAL_LIMITS[sample.kind]
        seconds = max((end - sample.start_time).total_seconds(), INSTANT_SECONDS)
        if value < 0 or value > most or value > per_second * seconds:
            return "health_sample.impossible_value"
    return None


class Resolution(enum.Enum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"

    @property
    def length(self) -> timedelta:
        return _LENGTHS[self]

    def bucket(self, at: datetime) -> datetime:
        """The start of the bucket holding `at` (UTC days)."""
        if at.tzinfo is not UTC:
            at = at.astimezone(UTC)
        if self is Resolution.MINUTE:
            return at.replace(second=0, microsecond=0)
        if self is Resolution.HOUR:
            return at.replace(minute=0, second=0, microsecond=0)
        return at.replace(hour=0, minute=0, second=0, microsecond=0)


_LENGTHS = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}
NO_ZONES: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def zone_seconds(bpm: float, seconds: float, max_heart_rate: float) -> tuple[float, ...]:
    """`seconds` in the zone `bpm` falls in, none below zone 1."""
    zone = zone_of(bpm, max_heart_rate)
    return tuple(seconds if index == zone - 1 else 0.0 for index in range(len(ZONE_FLOORS)))


@dataclass(frozen=True)
class Aggregate:
    """The figures of one bucket: mergeable with another bucket's of the same kind."""

    count: int
    total: float
    minimum: float
    maximum: float
    zone_seconds: tuple[float, ...] = NO_ZONES

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0

    def merge(self, other: Aggregate) -> Aggregate:
        return Aggregate(
            self.count + other.count,
            self.total + other.total,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
            tuple(a + b for a, b in zip(self.zone_seconds, other.zone_seconds, strict=True)),
        )

    @staticmethod
    def of(samples: Sequence[Sample], max_heart_rate: float) -> Aggregate:
        """The figures of samples of one kind (at least one)."""
        values = [sample.value for sample in samples]
        zones = NO_ZONES
        if samples[0].kind is HealthKind.HEART_RATE:
            seconds = [0.0] * (len(ZONE_FLOORS) + 1)  # Index 0: below zone 1.
            for sample in samples:
                seconds[zone_of(sample.value, max_heart_rate)] += sample.seconds
            zones = tuple(seconds[1:])
        return Aggregate(len(values), sum(values), min(values), max(values), zones)


BucketKey = tuple[HealthKind, datetime]


def aggregate(
    samples: Iterable[Sample], resolution: Resolution, max_heart_rate: float
) -> dict[BucketKey, Aggregate]:
    """The samples' figures per kind and bucket (a sample counts in the bucket it starts in)."""
    grouped: dict[BucketKey, list[Sample]] = defaultdict(list)
    length = resolution.length
    kind: HealthKind | None = None
    start = end = _EPOCH
    group: list[Sample] = []
    for sample in samples:
        # A batch comes in time order, so a sample is most often in the bucket of the one
        # before: only a sample outside it pays for finding its bucket.
        at = sample.start_time
        if sample.kind is not kind or not start <= at < end:
            kind, start = sample.kind, resolution.bucket(at)
            end, group = start + length, grouped[(kind, start)]
        group.append(sample)
    return {key: Aggregate.of(group, max_heart_rate) for key, group in grouped.items()}


def coarsen(
    figures: dict[BucketKey, Aggregate], resolution: Resolution
) -> dict[BucketKey, Aggregate]:
    """Finer buckets' figures merged into `resolution`'s buckets: a batch is aggregated
    sample by sample once, per minute, and its hours and days from its minutes."""
    coarser: dict[BucketKey, Aggregate] = {}
    for (kind, start), one in figures.items():
        key = (kind, resolution.bucket(start))
        held = coarser.get(key)
        coarser[key] = one if held is None else held.merge(one)
    return coarser


def merge_all(figures: Iterable[Aggregate]) -> Aggregate | None:
    """The figures of several buckets as one (None for none)."""
    merged: Aggregate | None = None
    for one in figures:
        merged = one if merged is None else merged.merge(one)
    return merged


@dataclass(frozen=True)
class Rollup:
    kind: HealthKind
    device_type: DeviceType
    start_time: datetime
    figures: Aggregate


def full_priority(chosen: Sequence[DeviceType]) -> tuple[DeviceType, ...]:
    """The member's order first (without repeats), then the kinds they left out, by default."""
    ordered = list(dict.fromkeys(chosen))
    return tuple(ordered + [kind for kind in DEFAULT_PRIORITY if kind not in ordered])


def pick_by_priority(rollups: Iterable[Rollup], priority: Sequence[DeviceType]) -> list[Rollup]:
    """Per bucket, the rollup of the device kind ranked first; by start time."""
    rank = {kind: index for index, kind in enumerate(full_priority(priority))}
    best: dict[datetime, Rollup] = {}
    for rollup in rollups:
        held = best.get(rollup.start_time)
        if held is None or rank[rollup.device_type] < rank[held.device_type]:
            best[rollup.start_time] = rollup
    return [best[start] for start in sorted(best)]


@dataclass(frozen=True)
class RollupRange:
    kind: HealthKind
    resolution: Resolution
    start_time: datetime
    end_time: datetime


def check_range(wanted: RollupRange) -> RollupRange:
    """Buckets from the one holding the start to the end, at most MAX_BUCKETS of them."""
    if wanted.end_time <= wanted.start_time:
        raise InvalidArgument([FieldViolation("end_time", "health_rollup.ends_first")])
    if (wanted.end_time - wanted.start_time) / wanted.resolution.length > MAX_BUCKETS:
        raise InvalidArgument([FieldViolation("end_time", "health_rollup.too_many_buckets")])
    return RollupRange(
        wanted.kind,
        wanted.resolution,
        wanted.resolution.bucket(wanted.start_time),
        wanted.end_time,
    )


@dataclass(frozen=True)
class StoredSample:
    """Where a removed sample counted: what a deletion must correct."""

    kind: HealthKind
    device_type: DeviceType
    start_time: datetime


@dataclass(frozen=True)
class PartitionPolicy:
    """How long a monthly-partitioned table (raw samples, a resolution's rollups) keeps its
    months."""

    table: str
    keep: timedelta  # Rows are kept at least this long: a month goes once wholly older.
