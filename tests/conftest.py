from stride.platform.testing.fixtures import *
