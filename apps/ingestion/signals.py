from django.dispatch import Signal

# Sent after a commit that stored events (and so marked their days dirty).
events_stored = Signal()
