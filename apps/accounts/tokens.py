"""The access token members' programs present: simplejwt's, revocable. Signing out
(`POST /v1/auth/logout`) puts the access token it was sent with on the token blacklist beside the
refresh token, so it stops working at once instead of living out its minutes; every request with
one checks the blacklist (one indexed lookup)."""

from rest_framework_simplejwt.tokens import AccessToken, BlacklistMixin


class RevocableAccessToken(BlacklistMixin["RevocableAccessToken"], AccessToken):
    pass
