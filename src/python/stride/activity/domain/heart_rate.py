"""Heart-rate zones: shares of the member's maximum heart rate, as the five-zone model has them
— zone 1 from 50 %, zone 2 from 60 %, zone 3 from 70 %, zone 4 from 80 % and zone 5 from 90 %;
below 50 % is rest (zone 0). A live reading and a rollup's time in zones use this one scale."""

from __future__ import annotations

from bisect import bisect_right

# Lower bounds of zones 1 to 5, as shares of the maximum heart rate.
ZONE_FLOORS = (0.5, 0.6, 0.7, 0.8, 0.9)


def zone_of(bpm: float, max_heart_rate: float) -> int:
    """The zone (1 to 5) `bpm` falls in; 0 below zone 1."""
    return bisect_right(ZONE_FLOORS, bpm / max_heart_rate)
