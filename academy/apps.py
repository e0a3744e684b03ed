"""AppConfig of the ground floor."""

from django.apps import AppConfig


class AcademyConfig(AppConfig):
    """Shared plumbing: once-only records, plugin activation, the plugin machinery's checks and
    admin screens, and the ``startplugin`` command."""

    name = "academy"
    verbose_name = "Academy core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the plugin system checks, and follow every task through Django-Q2's signals:
        the request id travels with it (``academy.logging``) and it is counted (``academy.metrics``)."""
        from django_q.signals import post_execute, post_execute_in_worker, pre_enqueue, pre_execute

        from academy import logging as academy_logging
        from academy import metrics, permissions
        from academy.plugins import admin_hooks, checks  # noqa: F401  (checks, the plugins' ready step)

        permissions.connect_receivers()
        pre_enqueue.connect(academy_logging.task_carry_request_id, dispatch_uid="academy-task-request-id")
        pre_enqueue.connect(metrics.count_task_queued, dispatch_uid="academy-task-queued")
        pre_execute.connect(academy_logging.task_started, dispatch_uid="academy-task-started")
        post_execute_in_worker.connect(academy_logging.task_finished, dispatch_uid="academy-task-finished")
        post_execute.connect(metrics.count_task_retry, dispatch_uid="academy-task-retry")
