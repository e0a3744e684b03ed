"""Project configuration for Academy.

The design card calls this package ``site``, but Python's own ``site`` module (imported at
interpreter start-up) would shadow it, so ``import site.settings`` could never work. It is
``siteconfig`` instead. It is also a small Django app holding the operational commands
(``run_academy``, ``setup_schedules``) and the health endpoints.
"""

__version__ = "0.1.0"
