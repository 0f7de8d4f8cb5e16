"""Views that exist only to exercise the error envelope."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.exceptions import Conflict


class EchoSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    quantity = serializers.IntegerField(min_value=1)


class EchoView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        serializer = EchoSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class BoomView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("secret internals: password=hunter2 at /srv/db")


class ConflictView(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        raise Conflict("Already done.", details={"state": "done"})


class PrivateView(APIView):
    def get(self, request):
        return Response({"ok": True})


def plain_boom(request):
    raise RuntimeError("plain django view failed with internals")


urlpatterns = [
    path("api/v1/test/echo/", EchoView.as_view()),
    path("api/v1/test/boom/", BoomView.as_view()),
    path("api/v1/test/conflict/", ConflictView.as_view()),
    path("api/v1/test/private/", PrivateView.as_view()),
    path("api/v1/test/plain-boom/", plain_boom),
    path("", include("olympus.urls")),
]
