from chaos.support import access_tokens  # noqa: F401 - a fixture.
from stride.platform.testing.fixtures import *
