"""URL configuration: core routes first, Wagtail's page serving last (it catches the rest)."""

import posixpath
import re
from urllib.parse import unquote

from django.conf import settings
from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from academy.plugins.urls import plugin_api_urlpatterns, plugin_root_urlpatterns, plugin_urlpatterns
from courses import routing
from learning import accounts, oauth_views
from learning.api import errors as api_errors
from siteconfig import health

urlpatterns = [
    path("readyz", health.readyz, name="readyz"),
    # Wagtail's admin reset form, under the same rate limits as /accounts/password_reset/.
    path("admin/password_reset/", accounts.admin_password_reset, name="wagtailadmin_password_reset"),
    path("admin/", include(wagtailadmin_urls)),
    # Django's own admin, for staff only: the task queue's monitors (queued, failed, scheduled).
    path("django-admin/", admin.site.urls),
    path("documents/", include(wagtaildocs_urls)),
    # OAuth 2 for apps (django-oauth-toolkit): authorize, token, revoke_token, introspect.
    path("o/", include((oauth_views.urlpatterns, oauth_views.app_name), namespace="oauth2_provider")),
    # Its metadata (RFC 8414) at the origin's root, where an app's OAuth library looks for it.
    path(".well-known/oauth-authorization-server", oauth_views.ServerMetadataView.as_view(), name="oauth-server-metadata"),
    # The REST API: core v1 routes (learning/api/urls.py), then the plugins' API under
    # /api/v1/p/<label>/ (after core: a plugin cannot shadow a core route), the schema and docs;
    # any other path under /api/ is the API's JSON 404, not the site's HTML page.
    path("api/v1/", include("learning.api.urls")),
    path("api/v1/", include(plugin_api_urlpatterns(when_off=api_errors.switched_off))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    re_path(r"^api/", api_errors.not_found),
    path("", include("learning.urls")),
    # Plugins: their pages under /p/<label>/.
    *plugin_urlpatterns(),
]

if settings.ACADEMY_SERVE_MEDIA:
    # Uploaded images (renditions). Behind a proxy that serves MEDIA_ROOT itself, turn this off.
    # Private folders (documents, original images in production) are never served from here:
    # documents go through Wagtail's serve view and the access policy.
    def serve_public_media(request: HttpRequest, path: str) -> HttpResponse:
        """Django's static ``serve`` for every media folder but the private ones (checked on the
        normalised path, so ``images/../documents/x`` is refused too)."""
        normalised = posixpath.normpath(unquote(path)).lstrip("/")
        if any(normalised.startswith(folder) for folder in settings.ACADEMY_PRIVATE_MEDIA_DIRS):
            raise Http404("Not a public file.")
        return serve(request, path, document_root=settings.MEDIA_ROOT)

    urlpatterns += [re_path(rf"^{re.escape(settings.MEDIA_URL.lstrip('/'))}(?P<path>.*)$", serve_public_media)]

# The few public root paths plugins declare in root_urls.py: after every core route, before
# Wagtail's page serving (which catches the rest).
urlpatterns += [*plugin_root_urlpatterns(), *routing.wagtail_urlpatterns()]
