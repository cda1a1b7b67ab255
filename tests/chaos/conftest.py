from chaos.support import access_tokens, billing, log_dir  # noqa: F401 - fixtures.
from stride.platform.testing.fixtures import *
