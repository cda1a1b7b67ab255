"""Health samples from members' phones, range-partitioned by month, and their rollups.

The partitioned tables are created here without partitions: the service creates each month's
ahead of time and drops those past retention (adapters.partitions), so a migration never
depends on the date it runs.

Revision ID: activity_0004
Revises: activity_0003
Create Date: 2026-12-02
"""

from alembic import op

revision = "activity_0004"
down_revision = "activity_0003"
branch_labels = None
depends_on = None

ROLLUP_TABLES = ("health_rollups_minute", "health_rollups_hour", "health_rollups_day")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE health_devices (
            id bigserial PRIMARY KEY,
            member_id uuid NOT NULL,
            source varchar(32) NOT NULL,
            type smallint NOT NULL,
            manufacturer varchar(100) NOT NULL,
            model varchar(100) NOT NULL,
            name varchar(100) NOT NULL,
            -- Devices unseen for longer than their samples are kept go (HealthRepository).
            last_upload_time timestamptz NOT NULL,
            CONSTRAINT health_devices_once
                UNIQUE (member_id, source, type, manufacturer, model, name)
        )
        """
    )
    # Raw samples: appended by COPY, read by time range only (deletions, rollup repairs), so a
    # BRIN on time is the one index (ADR 0014).
    op.execute(
        """
        CREATE TABLE health_samples (
            member_id uuid NOT NULL,
            start_time timestamptz NOT NULL,
            end_time timestamptz NOT NULL,
            kind smallint NOT NULL,
            value double precision NOT NULL,
            device_id bigint NOT NULL,
            sample_id varchar(64) NOT NULL
        ) PARTITION BY RANGE (start_time)
        """
    )
    op.execute("CREATE INDEX health_samples_by_time ON health_samples USING brin (start_time)")
    # One narrow row per stored sample, keyed by a hash of its source and platform id: finds
    # a sample sent again, or deleted on the phone, without an index on the raw rows.
    op.execute(
        """
        CREATE TABLE health_sample_keys (
            member_id uuid NOT NULL,
            sample_key uuid NOT NULL,
            start_time timestamptz NOT NULL,
            PRIMARY KEY (member_id, sample_key, start_time)
        ) PARTITION BY RANGE (start_time)
        """
    )
    for table in ROLLUP_TABLES:
        op.execute(
            f"""
            CREATE TABLE {table} (
                member_id uuid NOT NULL,
                kind smallint NOT NULL,
                bucket_start timestamptz NOT NULL,
                device_type smallint NOT NULL,
                sample_count bigint NOT NULL,
                total double precision NOT NULL,
                minimum double precision NOT NULL,
                maximum double precision NOT NULL,
                zone1_seconds double precision NOT NULL,
                zone2_seconds double precision NOT NULL,
                zone3_seconds double precision NOT NULL,
                zone4_seconds double precision NOT NULL,
                zone5_seconds double precision NOT NULL,
                PRIMARY KEY (member_id, kind, bucket_start, device_type)
            ) PARTITION BY RANGE (bucket_start)
            """
        )
    op.execute(
        """
        CREATE TABLE health_sync_anchors (
            member_id uuid NOT NULL,
            source varchar(32) NOT NULL,
            anchor text NOT NULL,
            update_time timestamptz NOT NULL,
            PRIMARY KEY (member_id, source)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE health_settings (
            member_id uuid PRIMARY KEY,
            device_priority varchar(16)[] NOT NULL
        )
        """
    )


def downgrade() -> None:
    for table in (
        "health_settings",
        "health_sync_anchors",
        *ROLLUP_TABLES,
        "health_sample_keys",
        "health_samples",
        "health_devices",
    ):
        op.execute(f"DROP TABLE {table}")
