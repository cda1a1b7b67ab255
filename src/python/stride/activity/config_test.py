import pytest

from stride.activity.config import ActivitySettings
from stride.platform.config import load_settings
from stride.platform.crypto.sealing import new_data_key_spec

BASE = {
    "STRIDE_DATABASE_URL": "postgresql://db/activity",
    "STRIDE_DATA_KEYS": new_data_key_spec("k1"),
    "STRIDE_DATA_KEY_ACTIVE": "k1",
}


def test_strava_is_off_without_a_client_id_and_real_by_default() -> None:
    settings = load_settings(ActivitySettings, BASE)
    assert settings.strava_client_id == ""
    assert settings.strava_oauth_base == "https://www.strava.com/oauth"
    assert settings.strava_api_base == "https://www.strava.com/api/v3"


def test_a_client_id_without_its_secret_and_redirect_stops_the_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        load_settings(ActivitySettings, {**BASE, "STRIDE_STRAVA_CLIENT_ID": "41234"})
    error = capsys.readouterr().err
    assert "STRIDE_STRAVA_CLIENT_SECRET" in error
    assert "STRIDE_STRAVA_REDIRECT_URI" in error


def test_the_client_secret_and_verify_token_are_never_printed() -> None:
    settings = load_settings(
        ActivitySettings,
        {
            **BASE,
            "STRIDE_STRAVA_CLIENT_ID": "41234",
            "STRIDE_STRAVA_CLIENT_SECRET": "the-client-secret",
            "STRIDE_STRAVA_REDIRECT_URI": "https://app.stride.app/connect/strava",
            "STRIDE_STRAVA_VERIFY_TOKEN": "the-verify-token",
        },
    )
    assert "the-client-secret" not in repr(settings)
    assert "the-verify-token" not in repr(settings)


@pytest.mark.parametrize(
    ("provider", "missing"),
    [
        ("FITBIT", ("CLIENT_SECRET", "REDIRECT_URI", "VERIFICATION_CODE")),
        ("GARMIN", ("CLIENT_SECRET", "REDIRECT_URI")),
    ],
)
def test_fitbit_and_garmin_with_a_client_id_need_the_rest_of_their_settings(
    provider: str, missing: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(ActivitySettings, BASE)
    assert (settings.fitbit_client_id, settings.garmin_client_id) == ("", "")
    assert settings.fitbit_api_base == "https://api.fitbit.com"
    assert settings.garmin_api_base == "https://apis.garmin.com"
    with pytest.raises(SystemExit):
        load_settings(ActivitySettings, {**BASE, f"STRIDE_{provider}_CLIENT_ID": "23QXYZ"})
    error = capsys.readouterr().err
    for name in missing:
        assert f"STRIDE_{provider}_{name}" in error
