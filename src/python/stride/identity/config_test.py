import pytest

from stride.identity.config import IdentitySettings
from stride.platform.config import load_settings
from stride.platform.crypto.sealing import new_data_key_spec

REQUIRED = {
    "STRIDE_DATABASE_URL": "postgresql://db/identity",
    "STRIDE_DATA_KEYS": new_data_key_spec("k1"),
    "STRIDE_DATA_KEY_ACTIVE": "k1",
    "STRIDE_EVENT_SECRET_KEYS": new_data_key_spec("e1"),
    "STRIDE_EVENT_SECRET_KEY_ACTIVE": "e1",
}
FINGERPRINT = ":".join(["0F"] * 32)


def environment(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    """The process environment, where JSON lists are read as lists."""
    for name, value in {**REQUIRED, **variables}.items():
        monkeypatch.setenv(name, value)


def test_the_apps_that_open_the_links_are_read_as_json_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment(
        monkeypatch,
        {
            "STRIDE_APPLE_APP_IDS": '["ABCDE12345.app.stride.member"]',
            "STRIDE_ANDROID_APP_PACKAGE": "app.stride.member",
            "STRIDE_ANDROID_APP_FINGERPRINTS": f'["{FINGERPRINT}"]',
        },
    )
    settings = load_settings(IdentitySettings)
    assert settings.apple_app_ids == ["ABCDE12345.app.stride.member"]
    assert settings.android_app_fingerprints == [FINGERPRINT]


@pytest.mark.parametrize(
    ("variables", "complaint"),
    [
        ({"STRIDE_APPLE_APP_IDS": '["app.stride.member"]'}, "STRIDE_APPLE_APP_IDS"),
        ({"STRIDE_ANDROID_APP_PACKAGE": "stride"}, "STRIDE_ANDROID_APP_PACKAGE"),
        (
            {"STRIDE_ANDROID_APP_PACKAGE": "app.stride.member"},
            "STRIDE_ANDROID_APP_PACKAGE and STRIDE_ANDROID_APP_FINGERPRINTS go together",
        ),
        (
            {
                "STRIDE_ANDROID_APP_PACKAGE": "app.stride.member",
                "STRIDE_ANDROID_APP_FINGERPRINTS": '["ab:cd"]',
            },
            "STRIDE_ANDROID_APP_FINGERPRINTS",
        ),
    ],
)
def test_app_link_settings_are_checked_at_start(
    variables: dict[str, str],
    complaint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    environment(monkeypatch, variables)
    with pytest.raises(SystemExit):
        load_settings(IdentitySettings)
    assert complaint in capsys.readouterr().err
