from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from apps.accounts.services import member_create
from apps.core.api import ApplicationError
from apps.core.tenancy import Role


class Command(BaseCommand):
    help = "Give a user a role in an organisation, creating the organisation and the user when missing."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation name; created when missing")
        parser.add_argument("--email", required=True, help="the member's email; the user is created when missing")
        parser.add_argument("--role", required=True, help=f"one of {', '.join(Role.values)}")
        parser.add_argument(
            "--password",
            help="password of a new user (checked by the password validators); without it the user chooses "
            "one through password reset. An existing user's password is never changed.",
        )

    def handle(self, *args, org, email, role, password, **options):
        try:
            created = member_create(organization_name=org, email=email, role=role, password=password)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        membership = created.membership
        organization, user = membership.organization, membership.user
        self.stdout.write(f"organisation: {organization.name} ({organization.public_id})")
        if created.user_created:
            self.stdout.write(f"user: {user.email} (created)")
        else:
            self.stdout.write(f"user: {user.email} (existing)")
            if password is not None:
                self.stdout.write("password: unchanged (--password only applies to a new user)")
        if created.previous_role in (None, membership.role):
            self.stdout.write(f"role: {membership.role}")
        else:
            self.stdout.write(f"role: {membership.role} (was {created.previous_role})")
        if not user.has_usable_password():
            self.stdout.write(
                f"{user.email} has no password yet: they can choose one with 'Forgot your password?' "
                f"on the sign-in page ({reverse('password_reset')})."
            )
