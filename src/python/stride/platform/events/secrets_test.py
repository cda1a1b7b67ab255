import pytest

from stride.platform.crypto.sealing import DataKeyring, new_data_key_spec
from stride.platform.events.consumer import UnprocessableEvent
from stride.platform.events.secrets import open_secret, seal_secret

KEYS = DataKeyring.from_spec(new_data_key_spec("ev1"), "ev1")
RESET = "identity.password_reset.requested.v1"
TOKEN = "tok_Z9-x"
FOR_LAYLA = {"event_type": RESET, "user": "users/1", "recipient": "layla@example.com"}


def test_a_sealed_secret_opens_only_for_its_event_type_user_and_recipient() -> None:
    sealed = seal_secret(KEYS, TOKEN, **FOR_LAYLA)

    assert sealed.key_id == "ev1"
    assert TOKEN.encode() not in sealed.SerializeToString()
    assert open_secret(KEYS, sealed, **FOR_LAYLA) == TOKEN
    elsewhere = [
        {**FOR_LAYLA, "event_type": "identity.user.registered.v1"},
        {**FOR_LAYLA, "user": "users/2"},
        {**FOR_LAYLA, "recipient": "mallory@example.com"},
    ]
    for moved in elsewhere:
        with pytest.raises(UnprocessableEvent) as refused:
            open_secret(KEYS, sealed, **moved)
        assert TOKEN not in str(refused.value)


def test_a_secret_sealed_under_a_key_the_consumer_lacks_does_not_open() -> None:
    other = DataKeyring.from_spec(new_data_key_spec("ev2"), "ev2")
    sealed = seal_secret(other, TOKEN, **FOR_LAYLA)

    with pytest.raises(UnprocessableEvent, match="'ev2' is not in the keyring"):
        open_secret(KEYS, sealed, **FOR_LAYLA)


def test_keys_rotate_without_a_flag_day() -> None:
    old_spec, new_spec = new_data_key_spec("ev1"), new_data_key_spec("ev2")
    before = DataKeyring.from_spec(old_spec, "ev1")
    after = DataKeyring.from_spec(f"{old_spec},{new_spec}", "ev2")
    in_flight = seal_secret(before, TOKEN, **FOR_LAYLA)

    assert open_secret(after, in_flight, **FOR_LAYLA) == TOKEN
    assert seal_secret(after, TOKEN, **FOR_LAYLA).key_id == "ev2"
