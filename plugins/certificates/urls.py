"""``/p/certificates/``: the PDF download and the "name on certificates" setting."""

from django.urls import path

from plugins.certificates import views

urlpatterns = [
    path("name/", views.name_setting, name="name"),
    path("<str:code>/download/", views.download, name="download"),
]
