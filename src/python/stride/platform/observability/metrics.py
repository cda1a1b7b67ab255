"""Prometheus metrics, defined once for every service and served on the metrics port."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_LATENCY = Histogram(
    "stride_rpc_duration_seconds",
    "Server-side RPC latency.",
    ["service", "method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RPC_IN_FLIGHT = Gauge("stride_rpc_in_flight", "RPCs being handled.", ["service"])
OUTBOX_PENDING = Gauge("stride_outbox_pending", "Outbox events not yet published.", ["service"])
OUTBOX_LAG_SECONDS = Gauge(
    "stride_outbox_lag_seconds", "Age of the oldest unpublished outbox event.", ["service"]
)
EVENTS_PUBLISHED = Counter("stride_events_published", "Events published to NATS.", ["service"])
CONSUMER_PENDING = Gauge(
    "stride_consumer_pending", "Messages waiting for a consumer.", ["service", "consumer"]
)
EVENTS_CONSUMED = Counter(
    "stride_events_consumed", "Events handled by a consumer.", ["service", "consumer"]
)
EVENTS_DEAD_LETTERED = Counter(
    "stride_events_dead_lettered", "Events given up on.", ["service", "consumer"]
)


def start_metrics_server(host: str, port: int) -> None:
    """Serves /metrics in a daemon thread (prometheus_client's own server)."""
    start_http_server(port, addr=host)
