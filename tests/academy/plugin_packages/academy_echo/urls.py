from django.http import HttpResponse
from django.urls import include, path


def hello(request):
    return HttpResponse("echo ok")


urlpatterns = [
    path("", hello, name="index"),
    path("nested/", include([path("deep/", hello, name="deep")])),
]
