"""Settings of a server started by the capacity tests: the test database plus a view that holds
its request thread (and its database connection) until the test lets it go."""

from tests.realtime.server_settings import *  # noqa: F403

ROOT_URLCONF = "tests.siteconfig.hold_urls"
