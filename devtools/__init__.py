"""Tools the tests and the benchmarks share: the production-shaped stack (stack.py), the test GeoIP
database (geoip.py) and events as the ingest view hands them on (events.py).

It may import the apps; no app or config/ module imports it, and it imports nothing from tests/.
"""
