from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("echo ok")


urlpatterns = [path("", hello, name="index")]
