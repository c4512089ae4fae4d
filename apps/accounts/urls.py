from django.contrib.auth import views as auth_views
from django.urls import path

from apps.accounts import apis, views

urlpatterns = [
    path("v1/auth/token", apis.TokenObtainApi.as_view(), name="auth-token"),
    path("v1/auth/token/refresh", apis.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("v1/auth/logout", apis.LogoutApi.as_view(), name="auth-logout"),
    path("v1/organizations", apis.OrganizationsApi.as_view(), name="organizations"),
    path("v1/organizations/<str:organization_id>", apis.OrganizationApi.as_view(), name="organization-detail"),
    path("v1/organizations/<str:organization_id>/members", apis.MembersApi.as_view(), name="organization-members"),
    path(
        "v1/organizations/<str:organization_id>/members/<str:member_id>",
        apis.MemberApi.as_view(),
        name="organization-member-detail",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations",
        apis.InvitationsApi.as_view(),
        name="organization-invitations",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations/<str:invitation_id>",
        apis.InvitationApi.as_view(),
        name="organization-invitation-detail",
    ),
    path(
        "v1/organizations/<str:organization_id>/invitations/<str:invitation_id>/resend",
        apis.InvitationResendApi.as_view(),
        name="organization-invitation-resend",
    ),
    path("signup", views.signup, name="signup"),
    path("login", views.login_view, name="login"),
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password-reset", views.password_reset_view, name="password_reset"),
    path("password-reset/sent", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("invitations/<str:token>", views.invitation_accept, name="invitation-accept"),
]
