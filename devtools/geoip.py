"""A GeoIP2 City database of a few fixed networks, written for the tests (and the benchmarks).

The answers mirror MaxMind's own test databases, so the addresses the tests use read naturally;
the file is built with mmdb-writer rather than shipped, so the suite needs nothing from outside
the repository.
"""

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet

# network -> (country, subdivision, city)
NETWORKS = {
    "81.2.69.142/31": ("GB", "ENG", "London"),
    "81.2.69.160/27": ("GB", "ENG", "London"),
    "2.125.160.216/29": ("GB", "ENG", "Boxford"),
    "89.160.20.112/28": ("SE", "E", "Linköping"),
    "216.160.83.56/29": ("US", "WA", "Milton"),
    "2001:218::/32": ("JP", "", ""),
}


def geoip_test_database_write(path: Path) -> Path:
    """Write the test City database to `path` and return it."""
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="Clickmeter-Test-City", languages=["en"], description="test"
    )
    for network, (country, subdivision, city) in NETWORKS.items():
        record = {"country": {"iso_code": country}}
        if subdivision:
            record["subdivisions"] = [{"iso_code": subdivision}]
        if city:
            record["city"] = {"names": {"en": city}}
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
