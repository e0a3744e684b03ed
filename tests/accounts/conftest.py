"""The account flows use the real SMTP server and queue fixtures of the background-work tests."""

from tests.tasks.conftest import broker_name, queue, smtp  # noqa: F401
