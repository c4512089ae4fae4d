from django.dispatch import Signal

# Sent after a commit that stored events, with `dirty_days`: sorted (property_id, day) pairs.
events_stored = Signal()
