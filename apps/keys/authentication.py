"""DRF authentication: write keys (ingest), read keys (reports), and members by JWT or session."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from apps.core.api import MEMBER_AUTHENTICATION
from apps.keys.models import ApiKey
from apps.keys.selectors import api_key_resolve, ingest_token_resolve
from apps.keys.services import INGEST_TOKEN_PREFIX, SECRET_PREFIXES, InvalidToken


def _bearer(request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class _KeyAuthentication(BaseAuthentication):
    kind: str

    def credentials(self, request) -> str | None:
        raise NotImplementedError

    def authenticate(self, request):
        secret = self.credentials(request)
        if secret is None:
            return None
        resolved = api_key_resolve(secret=secret, kind=self.kind)
        if resolved is None:
            raise exceptions.AuthenticationFailed(f"Invalid or revoked {self.kind} key.")
        return (None, resolved)

    def authenticate_header(self, request):
        return 'Bearer realm="clickmeter"'


class WriteKeyAuthentication(_KeyAuthentication):
    """A write key from `Authorization: Bearer`, `X-Write-Key` or the `key` query parameter, or a
    signed ingest token (`it_…`) from `Authorization: Bearer` or the `token` query parameter."""

    kind = ApiKey.Kind.WRITE

    def credentials(self, request):
        return (
            _bearer(request) or request.headers.get("x-write-key") or request.GET.get("key") or request.GET.get("token")
        )

    def authenticate(self, request):
        credentials = self.credentials(request)
        if credentials is None or not credentials.startswith(INGEST_TOKEN_PREFIX):
            return super().authenticate(request)
        try:
            return (None, ingest_token_resolve(credentials))
        except InvalidToken as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None


class ReadKeyAuthentication(_KeyAuthentication):
    """A read key from `Authorization: Bearer` only: read keys are secrets and stay out of URLs."""

    kind = ApiKey.Kind.READ

    def credentials(self, request):
        bearer = _bearer(request)
        if bearer is not None and bearer.startswith((SECRET_PREFIXES[ApiKey.Kind.WRITE], INGEST_TOKEN_PREFIX)):
            # Said here: left to the JWT authenticator after this one, it would be "not a valid token".
            raise exceptions.AuthenticationFailed(
                "A write key or ingest token cannot read reports or mint tokens: use the property's read key "
                "(rk_…) or a member's access token."
            )
        # Any other bearer (a member's JWT) is left to the authenticators after this one.
        return bearer if bearer is not None and bearer.startswith(SECRET_PREFIXES[self.kind]) else None


# Reports: the property's read key, or a member.
REPORT_AUTHENTICATION = [ReadKeyAuthentication, *MEMBER_AUTHENTICATION]
