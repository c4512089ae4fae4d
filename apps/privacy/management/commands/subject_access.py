"""What a property holds on a person, as JSON: `manage.py subject_access prop_… --visitor-id v_123 > held.json`."""

import json

from apps.privacy.commands import SubjectCommand
from apps.privacy.services import subject_access


class Command(SubjectCommand):
    help = "Write every event of a visitor or user in a property as JSON (a subject access request)."

    def handle(self, *args, property_id, visitor_id, user_id_hash, **options):
        prop, field, value = self.subject(property_id, visitor_id, user_id_hash)
        held = subject_access(property=prop, field=field, value=value, requested_by="manage.py subject_access")
        self.stdout.write(json.dumps(held, indent=2, ensure_ascii=False))
