from django.dispatch import Signal

# Sent inside the transaction that changed a property's timezone, with `property`.
property_timezone_changed = Signal()
