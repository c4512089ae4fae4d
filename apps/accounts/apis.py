"""The API for programs: JWT sign-in, and organisations with their members and invitations."""

from django.contrib.auth.signals import user_logged_in
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import (
    TokenBlacklistSerializer,
    TokenObtainPairSerializer,
    TokenRefreshSerializer,
)

from apps.accounts.models import MailStatus, User
from apps.accounts.selectors import (
    invitation_access,
    invitations_pending,
    membership_access,
    memberships_of_organization,
    organization_access,
    organizations_of_user,
)
from apps.accounts.services import (
    access_token_revoke,
    invitation_create,
    invitation_resend,
    invitation_revoke,
    membership_remove,
    membership_role_change,
    organization_create,
    organization_delete,
    organization_update,
)
from apps.core.api import MEMBER_AUTHENTICATION, ApplicationError, IsMember, input_validated
from apps.core.openapi import error_responses
from apps.core.tenancy import Role


class InvalidToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED

    def __init__(self, message: str):
        super().__init__("token_invalid", message)


def _tokens(serializer: serializers.Serializer) -> dict:
    """Run one of simplejwt's serializers on input already checked; a bad token is a 401 `token_invalid`."""
    try:
        serializer.is_valid(raise_exception=True)
    except TokenError as exc:
        raise InvalidToken(str(exc)) from None
    except User.DoesNotExist:
        raise InvalidToken("The token's user no longer exists.") from None
    return serializer.validated_data


class _TokenApi(APIView):
    """A sign-in endpoint: open to anyone, credentials in the body."""

    authentication_classes = []
    permission_classes = []

    def get_authenticate_header(self, request):
        # Without a challenge DRF would turn a refused sign-in (401) into a 403.
        return 'Bearer realm="clickmeter"'


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="Send as `Authorization: Bearer <access>`; valid for minutes.")
    refresh = serializers.CharField(help_text="Trade it for a new pair before it expires; it works once.")


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class TokenObtainApi(_TokenApi):
    """`POST /v1/auth/token`: trade an email and password for an access and a refresh token."""

    class InputSerializer(serializers.Serializer):
        email = serializers.CharField()
        password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})

    @extend_schema(
        tags=["auth"],
        operation_id="auth_token_obtain",
        summary="Sign in",
        description="Five failed attempts for one account from one address lock that pair out (429 "
        "`locked_out`, with `Retry-After`), even with the right password afterwards.",
        request=InputSerializer,
        responses={200: TokenPairOutputSerializer, **error_responses(400, 401, 429)},
        auth=[],
    )
    def post(self, request):
        params = input_validated(self.InputSerializer, request.data)
        credentials = {"email": params["email"].strip().lower(), "password": params["password"]}
        # django-axes counts failures and flags a lockout on the request given to `authenticate()`;
        # its middleware answers from the Django request, so that is the one it must be given.
        serializer = TokenObtainPairSerializer(data=credentials, context={"request": request._request})
        tokens = _tokens(serializer)
        # A sign-in like the pages': axes forgets this account's failures from this address, last_login is set.
        user_logged_in.send(sender=type(serializer.user), request=request._request, user=serializer.user)
        return Response(tokens)


class TokenRefreshApi(_TokenApi):
    """`POST /v1/auth/token/refresh`: a new access and refresh token; the refresh token sent stops working."""

    @extend_schema(
        tags=["auth"],
        operation_id="auth_token_refresh",
        summary="Refresh tokens",
        request=RefreshInputSerializer,
        responses={200: TokenPairOutputSerializer, **error_responses(400, 401)},
        auth=[],
    )
    def post(self, request):
        params = input_validated(RefreshInputSerializer, request.data)
        return Response(_tokens(TokenRefreshSerializer(data=params)))


class LogoutApi(_TokenApi):
    """`POST /v1/auth/logout`: revoke a refresh token, and the access token the request carries
    (`Authorization: Bearer <access>`), which then stops working at once."""

    @extend_schema(
        tags=["auth"],
        operation_id="auth_logout",
        summary="Sign out",
        request=RefreshInputSerializer,
        responses={204: None, **error_responses(400, 401)},
        auth=[],
    )
    def post(self, request):
        params = input_validated(RefreshInputSerializer, request.data)
        _tokens(TokenBlacklistSerializer(data=params))
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            access_token_revoke(raw=header.removeprefix("Bearer "))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberAuthenticatedApi(APIView):
    """An endpoint for people: signed in by JWT or session cookie, as a member of some organisation."""

    authentication_classes = MEMBER_AUTHENTICATION
    permission_classes = [IsMember]


class OrganizationOutputSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    name = serializers.CharField()
    role = serializers.ChoiceField(
        choices=Role.choices, source="tenant_role", allow_null=True, help_text="The caller's role in it."
    )
    created_at = serializers.DateTimeField()


class OrganizationNameInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class OrganizationsApi(MemberAuthenticatedApi):
    """`/v1/organizations`: the caller's organisations; create one, owned by the caller."""

    class OutputSerializer(OrganizationOutputSerializer):
        role = serializers.ChoiceField(choices=Role.choices, allow_null=True, help_text="The caller's role in it.")

    @extend_schema(
        tags=["organizations"],
        operation_id="organizations_list",
        summary="List your organisations",
        responses={200: OutputSerializer(many=True), **error_responses(401)},
    )
    def get(self, request):
        return Response(self.OutputSerializer(organizations_of_user(user=request.user), many=True).data)

    @extend_schema(
        tags=["organizations"],
        operation_id="organizations_create",
        summary="Create an organisation",
        request=OrganizationNameInputSerializer,
        responses={201: OrganizationOutputSerializer, **error_responses(400, 401)},
    )
    def post(self, request):
        params = input_validated(OrganizationNameInputSerializer, request.data)
        created = organization_create(name=params["name"], owner=request.user)
        organization = organization_access(user=request.user, public_id=created.public_id)
        return Response(OrganizationOutputSerializer(organization).data, status=status.HTTP_201_CREATED)


class OrganizationApi(MemberAuthenticatedApi):
    """`/v1/organizations/{organization_id}`: any member reads it; the owner renames or deletes it."""

    @extend_schema(
        tags=["organizations"],
        operation_id="organizations_retrieve",
        summary="Get an organisation",
        responses={200: OrganizationOutputSerializer, **error_responses(401, 404)},
    )
    def get(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id)
        return Response(OrganizationOutputSerializer(organization).data)

    @extend_schema(
        tags=["organizations"],
        operation_id="organizations_update",
        summary="Rename an organisation",
        description="Needs the owner role. Without `name`, nothing changes.",
        request=OrganizationNameInputSerializer,
        responses={200: OrganizationOutputSerializer, **error_responses(400, 401, 403, 404)},
    )
    def patch(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        params = input_validated(OrganizationNameInputSerializer, request.data, partial=True)
        if "name" in params:
            organization = organization_update(organization=organization, name=params["name"])
        return Response(OrganizationOutputSerializer(organization).data)

    @extend_schema(
        tags=["organizations"],
        operation_id="organizations_destroy",
        summary="Delete an organisation",
        description="Needs the owner role. Deletes its properties, keys, events and reports too.",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        organization_delete(organization=organization)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The membership's id.")
    email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices)
    joined_at = serializers.DateTimeField(source="created_at")


class InvitationOutputSerializer(serializers.Serializer):
    """An invitation as members see it: never its link, which only the invitee receives."""

    id = serializers.IntegerField()
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    mail_status = serializers.ChoiceField(
        choices=MailStatus.choices,
        help_text="Its email: `pending` until the mail server takes it (retried with backoff), `sent`, or "
        "`failed` after every attempt failed; resend it with `POST …/resend`.",
    )
    mail_attempts = serializers.IntegerField(help_text="Attempts at sending its email so far.")
    mail_sent_at = serializers.DateTimeField(allow_null=True)


def _site_url(request) -> str:
    """The scheme and host the request came to, which the links in emails point to."""
    return request.build_absolute_uri("/")


class MembersApi(MemberAuthenticatedApi):
    """`/v1/organizations/{organization_id}/members`: any member lists them; the owner invites by email."""

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField()
        role = serializers.ChoiceField(choices=Role.choices, default=Role.VIEWER)

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_members_list",
        summary="List members",
        description="Invitations not yet accepted are listed by `GET /v1/organizations/{organization_id}/invitations`.",
        responses={200: MemberOutputSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id)
        return Response(MemberOutputSerializer(memberships_of_organization(organization=organization), many=True).data)

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_members_invite",
        summary="Invite a member",
        description="Needs the owner role. Emails the address a link that works once and expires; the person "
        "becomes a member when they accept it, signed in with that address. The invitation is stored whether or "
        "not the mail server answers: its `mail_status` tells whether the email went out.",
        request=InputSerializer,
        responses={201: InvitationOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        params = input_validated(self.InputSerializer, request.data)
        invitation, _token = invitation_create(
            organization=organization,
            email=params["email"],
            role=params["role"],
            invited_by=request.user,
            site_url=_site_url(request),
        )
        # Read again: with in-process tasks the email has been tried by now.
        invitation = invitation_access(organization=organization, invitation_id=invitation.pk)
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_201_CREATED)


class MemberApi(MemberAuthenticatedApi):
    """`/v1/organizations/{organization_id}/members/{member_id}`: the owner changes a role or removes a
    member; any member may remove themselves (leave)."""

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=Role.choices)

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_members_update",
        summary="Change a member's role",
        description="Needs the owner role. The last owner cannot step down (409 `last_owner`).",
        request=InputSerializer,
        responses={200: MemberOutputSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def patch(self, request, organization_id: str, member_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        membership = membership_access(organization=organization, membership_id=member_id)
        params = input_validated(self.InputSerializer, request.data)
        return Response(MemberOutputSerializer(membership_role_change(membership=membership, **params)).data)

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_members_remove",
        summary="Remove a member, or leave",
        description="The owner removes anyone; every member may remove themselves. The last owner cannot "
        "leave (409 `last_owner`).",
        responses={204: None, **error_responses(401, 403, 404, 409)},
    )
    def delete(self, request, organization_id: str, member_id: str):
        organization = organization_access(user=request.user, public_id=organization_id)
        membership = membership_access(organization=organization, membership_id=member_id)
        if membership.user_id != request.user.pk:
            organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        membership_remove(membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationsApi(MemberAuthenticatedApi):
    """`/v1/organizations/{organization_id}/invitations`: invitations not yet accepted or withdrawn."""

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_invitations_list",
        summary="List pending invitations",
        description="Expired ones included (see `expires_at`) until withdrawn, each with its email's status.",
        responses={200: InvitationOutputSerializer(many=True), **error_responses(401, 404)},
    )
    def get(self, request, organization_id: str):
        organization = organization_access(user=request.user, public_id=organization_id)
        return Response(InvitationOutputSerializer(invitations_pending(organization=organization), many=True).data)


class InvitationApi(MemberAuthenticatedApi):
    """`/v1/organizations/{organization_id}/invitations/{invitation_id}`: the owner withdraws an invitation."""

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_invitations_withdraw",
        summary="Withdraw an invitation",
        description="Needs the owner role. Its link stops working at once.",
        responses={204: None, **error_responses(401, 403, 404)},
    )
    def delete(self, request, organization_id: str, invitation_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        invitation_revoke(invitation=invitation_access(organization=organization, invitation_id=invitation_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationResendApi(MemberAuthenticatedApi):
    """`POST /v1/organizations/{organization_id}/invitations/{invitation_id}/resend`: the owner sends an
    open invitation's email again."""

    @extend_schema(
        tags=["organizations"],
        operation_id="organization_invitations_resend",
        summary="Send an invitation's email again",
        description="Needs the owner role. The same link, mailed again (queued: see `mail_status`). An "
        "invitation that has expired is 409 `invitation_closed`: withdraw it and invite again.",
        request=None,
        responses={202: InvitationOutputSerializer, **error_responses(401, 403, 404, 409)},
    )
    def post(self, request, organization_id: str, invitation_id: str):
        organization = organization_access(user=request.user, public_id=organization_id, role=Role.OWNER)
        invitation = invitation_access(organization=organization, invitation_id=invitation_id)
        invitation_resend(invitation=invitation, site_url=_site_url(request))
        invitation = invitation_access(organization=organization, invitation_id=invitation.pk)
        return Response(InvitationOutputSerializer(invitation).data, status=status.HTTP_202_ACCEPTED)
