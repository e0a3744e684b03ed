"""Django admin (staff, /django-admin/): the record of sent emails, next to Django-Q2's queues."""

from __future__ import annotations

from django.contrib import admin

from academy.models import EmailDelivery


@admin.register(EmailDelivery)
class EmailDeliveryAdmin(admin.ModelAdmin):
    """Read-only list of transactional emails and whether they were sent."""

    list_display = ["created_at", "template", "recipient", "subject", "status", "attempts", "requeues", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["recipient", "key", "subject"]
    readonly_fields = [field.name for field in EmailDelivery._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        """Rows are written by the email tasks only."""
        return False
