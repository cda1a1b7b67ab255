import importlib.util
from pathlib import Path

import pytest

from stack.fitbit import FitbitServer
from stack.garmin import GarminServer
from stack.providers import LocalFitbit, LocalGarmin, LocalStrava
from stack.strava import StravaServer
from stack.up import service_environment, service_keys
from stride.activity.config import ActivitySettings
from stride.gateway.catalog import ACTIVITY, SERVICES, ServiceEntry
from stride.identity.config import IdentitySettings
from stride.notifications.config import NotificationsSettings
from stride.platform.config import load_settings


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_the_stack_ships_every_catalog_service(service: ServiceEntry) -> None:
    """`./pants up` runs each service as `python -m <main_module>` from its own environment:
    a service missing from tools/stack/BUILD's dependencies would exit at start."""
    assert importlib.util.find_spec(service.main_module) is not None


def test_identity_and_notifications_share_the_event_secret_key_and_no_one_else_has_it(
    tmp_path: Path,
) -> None:
    keys = service_keys(tmp_path)
    environments = {
        service.name: service_environment(
            service, "postgresql://db/x", "nats://n", tmp_path, 8080, keys
        )
        for service in SERVICES
    }
    holders = {
        name: environment["STRIDE_EVENT_SECRET_KEYS"]
        for name, environment in environments.items()
        if "STRIDE_EVENT_SECRET_KEYS" in environment
    }
    assert set(holders) == {"identity", "notifications"}
    assert holders["identity"] == holders["notifications"]
    assert holders["identity"] != environments["identity"]["STRIDE_DATA_KEYS"]
    for name in holders:  # Each starts with what the stack gives it.
        load_settings(
            IdentitySettings if name == "identity" else NotificationsSettings, environments[name]
        )


def test_activity_starts_with_the_local_strava(tmp_path: Path) -> None:
    strava = StravaServer()
    environment = service_environment(
        ACTIVITY, "postgresql://db/x", "nats://n", tmp_path, 8080, service_keys(tmp_path)
    )
    local = LocalStrava(strava, "verify")
    settings = load_settings(
        ActivitySettings, environment | local.environment("http://127.0.0.1:8080")
    )
    assert settings.strava_api_base == strava.api_base
    assert settings.strava_subscription_id == str(strava.next_subscription_id)


def test_activity_starts_with_the_local_fitbit(tmp_path: Path) -> None:
    fitbit = FitbitServer()
    environment = service_environment(
        ACTIVITY, "postgresql://db/x", "nats://n", tmp_path, 8080, service_keys(tmp_path)
    )
    local = LocalFitbit(fitbit, "the-verification-code")
    settings = load_settings(
        ActivitySettings, environment | local.environment("http://127.0.0.1:8080")
    )
    assert (settings.fitbit_client_id, settings.fitbit_api_base) == (
        fitbit.client_id,
        fitbit.base_url,
    )
    assert settings.fitbit_verification_code.get_secret_value() == "the-verification-code"


def test_activity_starts_with_the_local_garmin(tmp_path: Path) -> None:
    garmin = GarminServer()
    environment = service_environment(
        ACTIVITY, "postgresql://db/x", "nats://n", tmp_path, 8080, service_keys(tmp_path)
    )
    settings = load_settings(
        ActivitySettings, environment | LocalGarmin(garmin).environment("http://127.0.0.1:8080")
    )
    assert (settings.garmin_client_id, settings.garmin_api_base) == (
        garmin.client_id,
        garmin.base_url,
    )
