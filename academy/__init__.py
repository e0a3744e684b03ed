"""Academy's ground floor: plumbing every app and plugin may import, importing no app above it.

- ``academy.tasks``: enqueue a Django-Q2 task after commit; the django-tasks backend.
- ``academy.schedules``: periodic tasks declared by apps (``tasks.SCHEDULES``).
- ``academy.models``: once-only side-effect records (emails, other effects).
- ``academy.ratelimit``: sliding-window limits on Redis or an embedded store.
- ``academy.middleware``: work that runs after the response is sent.
- ``academy.events``: typed, course-scoped domain events.
- ``academy.metrics``, ``academy.logging``, ``academy.sentry``: Prometheus metrics of every
  process, JSON logs with the request id that follows a request into its tasks and pushes, and
  Sentry with scrubbers (docs/deploy.md).
- ``academy.plugins``: plugin discovery, activation, template slots, mounting, the scaffold.
- ``academy.sdk``: the one module plugins import from core (a facade over the floors below it,
  with the contract test kit); it sits on its own floor, above ``realtime``.

The floors, bottom to top: ``academy``, ``courses``, ``learning``, ``realtime``, ``academy.sdk``,
``plugins/*``, ``siteconfig`` (settings, urls, asgi, wsgi: the only place that wires everything
together).
"""

# The core version plugins declare compatibility with (``min_core_version``); pyproject reads it.
__version__ = "0.2.0"
