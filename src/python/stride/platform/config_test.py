import pytest

from stride.platform.config import ServiceSettings, WithEventSecrets, load_settings
from stride.platform.crypto.sealing import new_data_key_spec


class ExampleSettings(ServiceSettings):
    service_name: str = "example"


def test_reads_prefixed_variables() -> None:
    settings = load_settings(
        ExampleSettings,
        {"STRIDE_DATABASE_URL": "postgresql://db/x", "STRIDE_GRPC_PORT": "6000", "OTHER": "1"},
    )
    assert settings.grpc_port == 6000
    assert settings.database_url == "postgresql://db/x"


def test_fails_fast_naming_every_bad_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        load_settings(ExampleSettings, {"STRIDE_GRPC_PORT": "70000", "STRIDE_LOG_LEVEL": "LOUD"})
    assert exited.value.code == 2
    errors = capsys.readouterr().err
    assert "STRIDE_DATABASE_URL: Field required" in errors
    assert "STRIDE_GRPC_PORT" in errors
    assert "STRIDE_LOG_LEVEL" in errors


def test_rejects_a_non_postgres_database(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load_settings(ExampleSettings, {"STRIDE_DATABASE_URL": "mysql://db/x"})
    assert "must be a postgresql:// URL" in capsys.readouterr().err


def test_refuses_an_inbox_that_forgets_events_a_stream_still_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        load_settings(
            ExampleSettings,
            {
                "STRIDE_DATABASE_URL": "postgresql://db/x",
                "STRIDE_STREAM_MAX_AGE_SECONDS": "864000",
                "STRIDE_INBOX_RETENTION_SECONDS": "86400",
            },
        )
    assert "STRIDE_INBOX_RETENTION_SECONDS must be at least" in capsys.readouterr().err


class SealingSettings(WithEventSecrets):
    service_name: str = "example"


def test_event_secret_keys_are_checked_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    environment = {
        "STRIDE_DATABASE_URL": "postgresql://db/x",
        "STRIDE_EVENT_SECRET_KEYS": new_data_key_spec("ev1"),
        "STRIDE_EVENT_SECRET_KEY_ACTIVE": "ev1",
    }
    assert load_settings(SealingSettings, environment).event_secrets().active_key_id == "ev1"
    with pytest.raises(SystemExit):
        load_settings(SealingSettings, {**environment, "STRIDE_EVENT_SECRET_KEY_ACTIVE": "ev9"})
    with pytest.raises(SystemExit):
        load_settings(SealingSettings, {**environment, "STRIDE_EVENT_SECRET_KEYS": "ev1:c2hvcnQ="})
    errors = capsys.readouterr().err
    assert "STRIDE_EVENT_SECRET_KEYS: active data key 'ev9' is not in the keyring" in errors
    assert "STRIDE_EVENT_SECRET_KEYS: data key 'ev1' must be 32 bytes" in errors
    assert environment["STRIDE_EVENT_SECRET_KEYS"] not in errors
