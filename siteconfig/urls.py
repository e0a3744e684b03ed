"""URL configuration: core routes first, Wagtail's page serving last (it catches the rest)."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from learning import accounts
from siteconfig import health

urlpatterns = [
    path("readyz", health.readyz, name="readyz"),
    # Wagtail's admin reset form, under the same rate limits as /accounts/password_reset/.
    path("admin/password_reset/", accounts.admin_password_reset, name="wagtailadmin_password_reset"),
    path("admin/", include(wagtailadmin_urls)),
    # Django's own admin, for staff only: the task queue's monitors (queued, failed, scheduled).
    path("django-admin/", admin.site.urls),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("learning.urls")),
]

if settings.ACADEMY_SERVE_MEDIA:
    # Uploaded images and documents. Behind a proxy that serves MEDIA_ROOT itself, turn this off.
    urlpatterns += [
        re_path(rf"^{settings.MEDIA_URL.lstrip('/')}(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    ]

urlpatterns += [path("", include(wagtail_urls))]
