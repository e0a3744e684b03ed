"""First-party plugins: each ``plugins/<name>/`` is a Django app with a ``PluginConfig``.

Core never imports from here; plugins import core (``academy``, ``courses``, ``learning``,
``realtime``) and are found by ``academy.plugins.discovery``. See docs/plugins.md.
"""
