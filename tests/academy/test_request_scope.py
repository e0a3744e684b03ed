"""The request scope's values read once (academy.middleware.request_cached)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from academy.middleware import AfterResponseMiddleware, forget_request_cached, request_cached


def test_a_value_is_computed_once_per_request_and_again_in_the_next() -> None:
    computed: list[int] = []
    seen: list[int] = []

    def compute() -> int:
        computed.append(len(computed) + 1)
        return computed[-1]

    def view(request: HttpRequest) -> HttpResponse:
        seen.extend([request_cached("k", compute), request_cached("k", compute)])
        forget_request_cached("k")
        seen.append(request_cached("k", compute))
        return HttpResponse("ok")

    middleware = AfterResponseMiddleware(view)
    middleware(RequestFactory().get("/"))
    middleware(RequestFactory().get("/"))
    # Per request: once, then again after forgetting; a new request starts afresh.
    assert seen == [1, 1, 2, 3, 3, 4]


def test_outside_a_request_every_call_computes() -> None:
    counter = iter(range(10))
    assert [request_cached("k", lambda: next(counter)) for _ in range(3)] == [0, 1, 2]
