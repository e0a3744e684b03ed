"""Deprecated home of the plugin contract kit: import it from ``academy.sdk`` instead.

Kept for one minor version (the SDK's deprecation policy, docs/plugins.md): importing it warns
with a DeprecationWarning since 0.2, and it is removed in 0.3.
"""

from __future__ import annotations

import warnings

from academy.sdk.testing import PluginContract, World, build_world

warnings.warn(
    "plugins.testing is deprecated since Academy 0.2 and removed in 0.3: "
    "import PluginContract, World and build_world from academy.sdk",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["PluginContract", "World", "build_world"]
