from pathlib import Path

from stack.keys import load_or_create_data_keys, load_or_create_service_key
from stride.platform.crypto.sealing import DataKeyring
from stride.platform.service_credentials import ServiceCredentials, ServiceKey, ServiceTokenVerifier


def test_data_keys_survive_restarts_and_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "identity.json"
    spec, active = load_or_create_data_keys(path)
    sealed = DataKeyring.from_spec(spec, active).seal(b"secret", "ctx")
    again = load_or_create_data_keys(path)
    assert again == (spec, active)
    assert DataKeyring.from_spec(*again).open(sealed, "ctx") == b"secret"
    assert path.stat().st_mode & 0o777 == 0o600


def test_each_service_gets_its_own_key(tmp_path: Path) -> None:
    identity = load_or_create_data_keys(tmp_path / "identity.json")
    billing = load_or_create_data_keys(tmp_path / "billing.json")
    assert identity != billing


def test_service_keys_survive_restarts_and_prove_who_calls(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "scheduling.service-key"
    spec = load_or_create_service_key(path, "scheduling")
    assert load_or_create_service_key(path, "scheduling") == spec
    assert path.stat().st_mode & 0o777 == 0o600
    key = ServiceKey.from_spec(spec)
    token = ServiceCredentials("scheduling", key).metadata("billing")[0][1].removeprefix("Bearer ")
    trusted = ServiceTokenVerifier.from_spec("billing", f"scheduling:{key.public_spec}")
    assert trusted.verify(token, frozenset({"scheduling"})) == "scheduling"
