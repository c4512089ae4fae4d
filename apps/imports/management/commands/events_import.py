"""Import a file of history into a property: `manage.py events_import prop_… FILE --source umami`.

The file is copied among the uploads (MEDIA_ROOT) as the admin's upload would be, then loaded here
with a progress bar: all of it, or nothing (apps.imports.services.import_run).
"""

from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.imports.models import Import
from apps.imports.services import import_create, import_run
from apps.properties.models import Property


class Command(BaseCommand):
    help = "Import a Clickmeter raw-event export (NDJSON or CSV) or Umami's website events into a property."

    def add_arguments(self, parser):
        parser.add_argument("property_id", help="the property's public id")
        parser.add_argument("file", type=Path, help="the exported file")
        parser.add_argument("--source", choices=Import.Source.values, default=Import.Source.CLICKMETER)

    def handle(self, *args, property_id, file, source, **options):
        prop = Property.unscoped.filter(public_id=property_id).first()
        if prop is None:
            raise CommandError(f"No property {property_id!r}.")
        if not file.is_file():
            raise CommandError(f"No file {file}.")
        with file.open("rb") as content:
            import_ = import_create(property=prop, source=source, file=File(content, name=file.name))
        with tqdm(unit="record", unit_scale=True, file=self.stderr, desc="checking, then writing") as progress:
            import_ = import_run(import_, progress=progress.update)
        if import_.status != Import.Status.DONE:
            raise CommandError(f"Import {import_.pk} failed, nothing of it was kept: {import_.error}")
        self.stdout.write(
            f"Import {import_.pk}: {import_.events} events of {import_.first_day}..{import_.last_day}"
            f" into {prop.public_id}; delete them with the import in the admin."
        )
