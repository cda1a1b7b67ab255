from chaos.support import access_tokens, billing  # noqa: F401 - fixtures.
from stride.platform.testing.fixtures import *
