"""What the privacy commands share: the property and the person's id from the command line."""

from django.core.management.base import BaseCommand, CommandError

from apps.properties.models import Property


class SubjectCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("property_id", help="the property's public id")
        person = parser.add_mutually_exclusive_group(required=True)
        person.add_argument("--visitor-id", help="the visitor id the site sent (or a cookieless h_… id)")
        person.add_argument("--user-id-hash", help="the user id hash the site sent")

    def subject(self, property_id: str, visitor_id: str | None, user_id_hash: str | None) -> tuple[Property, str, str]:
        prop = Property.unscoped.filter(public_id=property_id).first()
        if prop is None:
            raise CommandError(f"No property {property_id!r}.")
        return (prop, "visitor_id", visitor_id) if visitor_id else (prop, "user_id_hash", user_id_hash or "")
