"""Erase a person from a property: `manage.py subject_erase prop_… --visitor-id v_123` (or --user-id-hash)."""

from apps.privacy.commands import SubjectCommand
from apps.privacy.services import subject_erase


class Command(SubjectCommand):
    help = "Delete every event of a visitor or user in a property, and rebuild the rollups of their days."

    def handle(self, *args, property_id, visitor_id, user_id_hash, **options):
        prop, field, value = self.subject(property_id, visitor_id, user_id_hash)
        erased = subject_erase(property=prop, field=field, value=value, requested_by="manage.py subject_erase")
        self.stdout.write(f"Erased: {erased.events} events deleted (request {erased.pk}).")
