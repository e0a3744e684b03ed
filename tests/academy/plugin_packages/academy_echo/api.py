from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class Echo(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"echo": "ok"})


urlpatterns = [path("", Echo.as_view(), name="echo")]
