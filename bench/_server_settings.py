"""Settings of the servers the page and load benchmarks start: production settings from the
environment, plus ``/bench/trivial/`` (a view that does nothing), the floor every page is
compared with, served through the same middleware in the same process."""

from siteconfig.settings import *  # noqa: F403

ROOT_URLCONF = "bench._urls"
