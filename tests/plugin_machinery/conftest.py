"""These tests run in a child pytest (tests/academy/test_plugins.py) in which the test plugins
academy_echo, academy_faulty and academy_badge are installed through real entry points; the
main run does not collect them."""

import os

collect_ignore_glob = [] if os.environ.get("ACADEMY_PLUGIN_MACHINERY") == "1" else ["test_*.py"]
