import importlib.util

import pytest

from stride.gateway.catalog import SERVICES, ServiceEntry


@pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.name)
def test_the_stack_ships_every_catalog_service(service: ServiceEntry) -> None:
    """`./pants up` runs each service as `python -m <main_module>` from its own environment:
    a service missing from tools/stack/BUILD's dependencies would exit at start."""
    assert importlib.util.find_spec(service.main_module) is not None
