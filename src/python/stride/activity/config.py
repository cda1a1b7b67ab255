"""Activity's settings (environment variables prefixed STRIDE_)."""

from __future__ import annotations

from pydantic import Field, model_validator

from stride.platform.config import ServiceSettings


class ActivitySettings(ServiceSettings):
    service_name: str = "activity"
    grpc_port: int = 50105
    # Where exercise images and videos are served from: the library names files under it.
    media_base_url: str = "https://media.stride.app"
    # Health data (ADR 0013). Raw samples are kept `health_sample_retention_days`; rollups
    # longer the coarser they are. A deletion corrects a minute from the raw samples, an hour
    # from its minutes and a day from its hours, so each keeps at least as long as the finer.
    health_sample_retention_days: int = Field(default=90, ge=31)
    health_minute_rollup_retention_days: int = Field(default=90, ge=31)
    health_hour_rollup_retention_days: int = Field(default=730, ge=31)
    health_day_rollup_retention_days: int = Field(default=3650, ge=31)
    # Monthly partitions exist this many months ahead of the current one.
    health_partitions_ahead: int = Field(default=2, ge=1, le=12)
    health_partitions_every_seconds: float = Field(default=3600.0, gt=0)
    # For heart-rate zones: a member's maximum heart rate where none is known.
    max_heart_rate: float = Field(default=190.0, ge=120, le=240)

    @model_validator(mode="after")
    def _coarser_rollups_keep_longer(self) -> ActivitySettings:
        kept = [
            self.health_sample_retention_days,
            self.health_minute_rollup_retention_days,
            self.health_hour_rollup_retention_days,
            self.health_day_rollup_retention_days,
        ]
        if kept != sorted(kept):
            raise ValueError(
                "health retention must not shrink from samples to minute, hour and day rollups:"
                " each is corrected from the one before"
            )
        return self
