from stride.platform.testing.fixtures import *  # noqa: F403
