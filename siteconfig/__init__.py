"""Project configuration for Academy.

The design card calls this package ``site``, but Python's own ``site`` module (imported at
interpreter start-up) would shadow it, so ``import site.settings`` could never work. It is
``siteconfig`` instead. It is the top floor: settings, urls, asgi and wsgi wire every app and
plugin together; it is also a small Django app holding the operational commands
(``run_academy``, ``setup_schedules``), the server model and the health endpoints. Shared
plumbing lives in the ground-floor package ``academy``.
"""
