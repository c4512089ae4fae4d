"""Export a property's raw events: `manage.py events_export prop_… [--from D] [--to D] [--format csv]
[--output FILE]`, in the format `events_import` reads (to standard output without --output)."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.imports.services import EXPORT_FORMATS, NDJSON, events_export
from apps.properties.models import Property
from apps.reports.periods import FIRST_DAY, LAST_DAY


class Command(BaseCommand):
    help = "Export a property's raw events as NDJSON or CSV."

    def add_arguments(self, parser):
        parser.add_argument("property_id", help="the property's public id")
        parser.add_argument("--from", dest="first", type=date.fromisoformat, default=FIRST_DAY)
        parser.add_argument("--to", dest="last", type=date.fromisoformat, default=LAST_DAY)
        parser.add_argument("--format", choices=EXPORT_FORMATS, default=NDJSON)
        parser.add_argument("--output", help="a file to write (default: standard output)")

    def handle(self, *args, property_id, first, last, format, output, **options):
        prop = Property.unscoped.filter(public_id=property_id).first()
        if prop is None:
            raise CommandError(f"No property {property_id!r}.")
        target = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115  # closed below
        try:
            with tqdm(unit="B", unit_scale=True, file=self.stderr, disable=not output) as progress:
                for chunk in events_export(property=prop, first=first, last=last, format=format):
                    target.write(chunk)
                    progress.update(len(chunk))
        finally:
            if output:
                target.close()
