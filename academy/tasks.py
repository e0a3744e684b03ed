"""The task queue seen from the rest of the project: enqueue, broker readiness, django-tasks.

- :func:`enqueue` puts a task on Django-Q2 once the current transaction commits and never raises
  into the caller: a request must not fail (or wait) because the broker is slow or down.
- :func:`task_broker_status` is the broker's readiness check (for ``/readyz``).
- :class:`DjangoQBackend` is a django-tasks backend (``settings.TASKS``). Wagtail 8 enqueues its
  reference-index and search-index updates through django-tasks; by default they run inline in
  the editor's request. This backend hands them to the Django-Q2 worker instead.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskResult, TaskResultStatus
from django_tasks.exceptions import InvalidTaskError
from django_tasks.utils import get_random_id
from typing_extensions import ParamSpec

logger = logging.getLogger(__name__)

T = TypeVar("T")
# Django-Q2 stores task names in a 100-character column.
TASK_NAME_MAX_LENGTH = 100
P = ParamSpec("P")


def _push(func: str, kwargs: dict[str, Any], task_name: str | None) -> None:
    """Hand one task to the broker; log (never raise) when the broker refuses it."""
    try:
        options: dict[str, Any] = {"task_name": task_name} if task_name else {}
        async_task(func, q_options=options, **kwargs)
    except Exception:
        logger.exception("could not enqueue task %s %r", func, kwargs)


def enqueue(func: str, *, task_name: str | None = None, **kwargs: Any) -> None:
    """Queue the dotted function ``func`` with keyword arguments (ids and strings only).

    Runs after the current transaction commits (at once outside one), so the worker sees the
    committed rows; an error talking to the broker is logged and swallowed.
    """
    transaction.on_commit(lambda: _push(func, kwargs, task_name), robust=True)


@dataclass(frozen=True)
class BrokerStatus:
    """The task broker's readiness: ``ok`` and a short human-readable detail."""

    ok: bool
    broker: str
    detail: str
    queued: int | None = None


def task_broker_status() -> BrokerStatus:
    """Whether the task broker answers (readiness for ``/readyz``); never raises.

    The ORM broker is ready when its queue table answers a count; Redis when it answers PING.
    ``queued`` is the number of tasks waiting (None when unknown).
    """
    broker = get_broker()
    name = "orm" if Conf.ORM else "redis"
    try:
        if not broker.ping():
            return BrokerStatus(ok=False, broker=name, detail="broker did not answer")
        queued = broker.queue_size()
    except Exception as exc:
        return BrokerStatus(ok=False, broker=name, detail=f"{type(exc).__name__}: {exc}")
    return BrokerStatus(ok=True, broker=name, detail="ok", queued=queued)


def _serialise(module_path: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Make a second copy of the same task (same function, same object) wait for the first.

    Wagtail queues an index update per save, so a page created and autosaved within
    milliseconds gets two updates that race on "insert unless present" (an IntegrityError in
    the worker's log, though the index ends up right). One transaction per task, and on
    PostgreSQL a transaction-scoped advisory lock keyed by the task and its arguments; SQLite
    takes its write lock when the transaction begins (``transaction_mode: IMMEDIATE``).
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(repr((module_path, args, sorted(kwargs.items()))).encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def run_django_task(module_path: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Worker side of :class:`DjangoQBackend`: import the django-tasks task and run it, one
    copy at a time per task and arguments (``_serialise``).

    An object that was deleted between enqueue and run (a page removed before its index update)
    is not an error worth retrying: it is logged and the task ends.
    """
    target = import_string(module_path)
    call: Callable[..., Any] = target.call if isinstance(target, Task) else target
    try:
        with transaction.atomic():
            _serialise(module_path, args, kwargs)
            return call(*args, **kwargs)
    except ObjectDoesNotExist as exc:
        logger.info("task %s%r skipped: %s", module_path, tuple(args), exc)
        return None


class DjangoQBackend(BaseTaskBackend):
    """django-tasks backend that runs tasks on the Django-Q2 cluster, after commit.

    Results are not stored for django-tasks (``supports_get_result = False``); Django-Q2 keeps
    its own record of successes and failures (Django admin, "Tasks").
    """

    supports_defer = False
    supports_async_task = True
    supports_get_result = False
    supports_priority = False

    def validate_task(self, task: Task[Any, Any]) -> None:
        """Refuse what this backend cannot honour (context-taking tasks), then the usual checks."""
        super().validate_task(task)
        if task.takes_context:
            raise InvalidTaskError("DjangoQBackend does not pass a task context.")

    def enqueue(
        self,
        task: Task[P, T],
        args: P.args,  # type: ignore[valid-type]
        kwargs: P.kwargs,  # type: ignore[valid-type]
    ) -> TaskResult[T]:
        """Queue ``task`` on Django-Q2 once the transaction commits; return a READY result."""
        self.validate_task(task)
        result: TaskResult[T] = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        enqueue(
            "academy.tasks.run_django_task",
            task_name=f"django-tasks {task.name} {result.id}"[:TASK_NAME_MAX_LENGTH],
            module_path=task.module_path,
            args=list(args),
            kwargs=dict(kwargs),
        )
        return result
