"""Settings of a server or shell process started by a realtime test: the test database.

``ACADEMY_TEST_DATABASE_NAME`` carries pytest-django's test database name (a file for SQLite,
``test_<name>`` on PostgreSQL) so the child process sees what the test committed.
"""

import os

from siteconfig.settings import *  # noqa: F403
from siteconfig.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["ACADEMY_TEST_DATABASE_NAME"]
