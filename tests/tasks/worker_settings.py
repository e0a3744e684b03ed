"""Settings of a worker process started by a test: the project's settings, on the test database.

The test process runs on pytest-django's test database (``test_<name>`` on PostgreSQL, a file
for SQLite); ``ACADEMY_TEST_DATABASE_NAME`` hands its name to the worker.
"""

import os

from siteconfig.settings import *  # noqa: F403
from siteconfig.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["ACADEMY_TEST_DATABASE_NAME"]
