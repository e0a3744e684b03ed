from channels.generic.websocket import JsonWebsocketConsumer
from django.urls import path


class Hello(JsonWebsocketConsumer):
    def connect(self):
        self.accept()
        self.send_json({"type": "echo.hello"})


websocket_urlpatterns = [path("hello/", Hello.as_asgi())]
