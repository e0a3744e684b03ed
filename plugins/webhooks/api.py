"""The webhooks API under ``/api/v1/p/webhooks/``: subscriptions (list, create, read, change,
delete, rotate the secret, switch on again, ping) and the delivery log (list with filters, read,
replay).

Who: users holding ``webhooks.view_subscription`` (reads) or ``webhooks.change_subscription``
(everything), the same site-level permissions as the admin screens; anyone else is a 403.
The house contract applies (the SDK's ``ApiView``): token or session authentication, JSON bodies
whose unknown fields are a 400 (``InputSerializer``), cursor pagination, ETag on reads,
``Idempotency-Key`` on POSTs, errors as ``{"error": {"code", "message",
"fields"}}``. A secret is in the answer that creates or rotates it, never in any other.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from academy.sdk import ApiView, InputSerializer
from plugins.webhooks import catalog, services
from plugins.webhooks.models import URL_MAX_LENGTH, Delivery, Subscription

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class MayUseWebhooks(BasePermission):
    """Reads need the view (or change) permission, writes the change permission."""

    message = "You may not manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        """Whether the caller holds the permission this method needs."""
        if request.method in READ_METHODS:
            return services.may_view(request.user)
        return services.may_manage(request.user)


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as the API shows it (never its secret)."""

    course_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Subscription
        fields = [
            "id", "name", "target_url", "event_types", "course_id", "active", "consecutive_failures",
            "disabled_at", "disabled_reason", "created_at", "updated_at",
        ]


class SubscriptionWithSecretSerializer(SubscriptionSerializer):
    """A subscription and its secret: the answer of a creation or a rotation only."""

    secret = serializers.CharField()

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class SubscriptionInput(InputSerializer):
    """A subscription's fields (all required to create; any to change)."""

    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    target_url = serializers.CharField(max_length=URL_MAX_LENGTH)
    event_types = serializers.ListField(child=serializers.CharField(max_length=100), allow_empty=False, max_length=50)
    course_id = serializers.IntegerField(allow_null=True, required=False, min_value=1, max_value=2**31 - 1)
    active = serializers.BooleanField(required=False)


class DeliverySerializer(serializers.ModelSerializer):
    """A delivery of the log: what was sent and the outcome of its last attempt."""

    subscription_id = serializers.IntegerField()
    # A plain string in responses (v1 may add values): pending, succeeded, failed (will retry), dead.
    status = serializers.CharField(help_text="pending, succeeded, failed (a retry is scheduled) or dead (given up).")

    class Meta:
        model = Delivery
        fields = [
            "id", "subscription_id", "event_id", "event_type", "course_id", "payload", "status", "attempts",
            "replays", "next_attempt_at", "last_attempt_at", "last_status_code", "last_response", "last_error",
            "succeeded_at", "created_at",
        ]


class DeliveryFilters(serializers.Serializer):
    """``?subscription=&status=&event_type=`` of the delivery log."""

    subscription = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    status = serializers.ChoiceField(choices=Delivery.Status.values, required=False)
    event_type = serializers.ChoiceField(choices=[*catalog.KEYS, catalog.PING], required=False)


class WebhooksView(ApiView):
    """Base of the webhooks endpoints (the house contract: ETag on reads, Idempotency-Key on
    POSTs, cursor pagination): the permission and id lookups."""

    permission_classes = [MayUseWebhooks]
    scoped_tokens = False  # managing webhooks is no scope's: sessions and personal tokens
    cursor_ordering = "-pk"
    serializer_class = SubscriptionSerializer

    def subscription(self, pk: int) -> Subscription:
        """The subscription ``pk`` (404 when there is none)."""
        found = Subscription.objects.filter(pk=pk).first()
        if found is None:
            raise NotFound("No such webhook subscription.")
        return found

    def body(self, request: Request, *, partial: bool) -> dict[str, Any]:
        """The validated body (400 on unknown or bad fields)."""
        data = SubscriptionInput(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        return dict(data.validated_data)


class SubscriptionListView(WebhooksView):
    """GET: every subscription (newest first); POST: create one (its secret is in this answer
    only)."""

    @extend_schema(operation_id="webhooks_subscriptions_list", responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        """A page of subscriptions."""
        page = self.paginate_queryset(Subscription.objects.all())
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(operation_id="webhooks_subscriptions_create", request=SubscriptionInput,
                   responses={201: SubscriptionWithSecretSerializer})
    def post(self, request: Request) -> Response:
        """201 with the subscription and its ``secret``."""
        subscription, _secret = services.subscription_create(by=request.user, **self.body(request, partial=False))
        return Response(SubscriptionWithSecretSerializer(subscription).data, status=201)


class SubscriptionDetailView(WebhooksView):
    """GET, PATCH (any field; ``active: true`` resumes what waits) and DELETE one subscription."""

    @extend_schema(operation_id="webhooks_subscriptions_retrieve", responses=SubscriptionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The subscription."""
        return Response(SubscriptionSerializer(self.subscription(pk)).data)

    @extend_schema(operation_id="webhooks_subscriptions_update", request=SubscriptionInput,
                   responses=SubscriptionSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        """The changed subscription."""
        subscription = services.subscription_update(
            subscription=self.subscription(pk), by=request.user, **self.body(request, partial=True)
        )
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(operation_id="webhooks_subscriptions_destroy", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """204; the subscription and its delivery log are gone."""
        subscription = self.subscription(pk)
        with transaction.atomic():
            subscription.delete()
        return Response(status=204)


class EmptyInput(InputSerializer):
    """An action's body: nothing (an empty object or no body)."""


class _ActionView(WebhooksView):
    def empty_body(self, request: Request) -> None:
        EmptyInput(data=request.data or {}).is_valid(raise_exception=True)


class SubscriptionRotateView(_ActionView):
    """POST: draw a new secret (in this answer only); the old one signs too for a day."""

    @extend_schema(operation_id="webhooks_subscriptions_rotate_secret", request=EmptyInput,
                   responses=SubscriptionWithSecretSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """The subscription and its new ``secret``."""
        self.empty_body(request)
        subscription = self.subscription(pk)
        services.subscription_rotate_secret(subscription=subscription, by=request.user)
        return Response(SubscriptionWithSecretSerializer(subscription).data)


class SubscriptionEnableView(_ActionView):
    """POST: switch the subscription on (again); what waits for it is sent."""

    @extend_schema(operation_id="webhooks_subscriptions_enable", request=EmptyInput, responses=SubscriptionSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """The subscription, on."""
        self.empty_body(request)
        subscription = self.subscription(pk)
        services.subscription_enable(subscription=subscription, by=request.user)
        return Response(SubscriptionSerializer(subscription).data)


class SubscriptionPingView(_ActionView):
    """POST: queue a ``ping`` event to the subscription; 202 with its delivery."""

    @extend_schema(operation_id="webhooks_subscriptions_ping", request=EmptyInput, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        """The queued delivery."""
        self.empty_body(request)
        delivery = services.ping_send(subscription=self.subscription(pk), by=request.user)
        return Response(DeliverySerializer(delivery).data, status=202)


class DeliveryListView(WebhooksView):
    """GET: the delivery log, newest first; filters ``subscription``, ``status``, ``event_type``."""

    serializer_class = DeliverySerializer

    @extend_schema(operation_id="webhooks_deliveries_list", parameters=[DeliveryFilters],
                   responses=DeliverySerializer(many=True))
    def get(self, request: Request) -> Response:
        """A page of deliveries."""
        params = DeliveryFilters(data=request.query_params.dict())
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        rows = Delivery.objects.all()
        if "subscription" in filters:
            rows = rows.filter(subscription_id=filters["subscription"])
        if "status" in filters:
            rows = rows.filter(status=filters["status"])
        if "event_type" in filters:
            rows = rows.filter(event_type=filters["event_type"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


def _delivery(pk: int) -> Delivery:
    """The delivery ``pk`` (404 when there is none)."""
    found = Delivery.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound("No such delivery.")
    return found


class DeliveryDetailView(WebhooksView):
    """GET: one delivery."""

    serializer_class = DeliverySerializer

    @extend_schema(operation_id="webhooks_deliveries_retrieve", responses=DeliverySerializer)
    def get(self, request: Request, pk: int) -> Response:
        """The delivery."""
        return Response(DeliverySerializer(_delivery(pk)).data)


class DeliveryReplayView(_ActionView):
    """POST: send the delivery again (same body and ``Webhook-Id``); 202."""

    serializer_class = DeliverySerializer

    @extend_schema(operation_id="webhooks_deliveries_replay", request=EmptyInput, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        """The delivery, pending again."""
        self.empty_body(request)
        delivery = services.delivery_replay(delivery=_delivery(pk), by=request.user)
        return Response(DeliverySerializer(delivery).data, status=202)


urlpatterns = [
    path("subscriptions/", SubscriptionListView.as_view(), name="subscriptions"),
    path("subscriptions/<id:pk>/", SubscriptionDetailView.as_view(), name="subscription"),
    path("subscriptions/<id:pk>/rotate-secret/", SubscriptionRotateView.as_view(), name="rotate"),
    path("subscriptions/<id:pk>/enable/", SubscriptionEnableView.as_view(), name="enable"),
    path("subscriptions/<id:pk>/ping/", SubscriptionPingView.as_view(), name="ping"),
    path("deliveries/", DeliveryListView.as_view(), name="deliveries"),
    path("deliveries/<id:pk>/", DeliveryDetailView.as_view(), name="delivery"),
    path("deliveries/<id:pk>/replay/", DeliveryReplayView.as_view(), name="replay"),
]
