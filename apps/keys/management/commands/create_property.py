import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.services import organization_get_or_create
from apps.properties.services import property_create_with_keys


class Command(BaseCommand):
    help = "Create a property (and its organisation if missing) with a write key and a read key."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="organisation name; created when missing")
        parser.add_argument("--name", required=True, help="property name")
        parser.add_argument(
            "--domain",
            action="append",
            default=[],
            help="the site's hostname, e.g. example.com (repeatable; first: primary)",
        )
        parser.add_argument(
            "--origin",
            action="append",
            default=None,
            help="allowed browser origin (repeatable); default: https:// each --domain",
        )
        parser.add_argument("--timezone", default="UTC", help="IANA timezone for report days")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="print {property_id, write_key, read_key}"
        )

    def handle(self, *args, org, name, domain, origin, timezone, as_json, **options):
        try:
            with transaction.atomic():
                organization = organization_get_or_create(name=org)
                prop, secrets = property_create_with_keys(
                    organization=organization, name=name, domains=domain, allowed_origins=origin, timezone=timezone
                )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        result = {"property_id": prop.public_id, "write_key": secrets["write"], "read_key": secrets["read"]}
        if as_json:
            self.stdout.write(json.dumps(result))
        else:
            for label, value in result.items():
                self.stdout.write(f"{label}: {value}")
