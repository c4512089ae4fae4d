from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.keys.authentication import ReadKeyAuthentication
from apps.keys.permissions import HasApiKey
from apps.keys.selectors import property_access_by_key
from apps.keys.services import INGEST_TOKEN_MAX_SECONDS, ingest_token_mint
from apps.keys.throttling import ReportRateThrottle
from config.api import ApplicationError


class IngestTokenCreateApi(APIView):
    """`POST /v1/properties/{id}/ingest-tokens`: the owner's backend mints a short-lived ingest token."""

    authentication_classes = [ReadKeyAuthentication]
    permission_classes = [HasApiKey]
    throttle_classes = [ReportRateThrottle]

    class InputSerializer(serializers.Serializer):
        expires_in = serializers.IntegerField(min_value=1, max_value=INGEST_TOKEN_MAX_SECONDS, default=3600)

    def post(self, request, property_id: str):
        prop = property_access_by_key(key=request.auth, public_id=property_id)
        params = self.InputSerializer(data=request.data)
        if not params.is_valid():
            field, messages = next(iter(params.errors.items()))
            raise ApplicationError("invalid_parameter", f"{field}: {messages[0]}", field=field)
        token, expires_at = ingest_token_mint(
            api_key_id=request.auth.id,
            property_public_id=prop.public_id,
            expires_in=params.validated_data["expires_in"],
        )
        return Response(
            {"token": token, "property_id": prop.public_id, "expires_at": expires_at}, status=status.HTTP_201_CREATED
        )
