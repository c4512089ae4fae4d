import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.keys.models import ApiKey
from apps.keys.services import api_key_hash
from apps.properties.models import Property

pytestmark = pytest.mark.django_db


def test_create_property_prints_working_keys_as_json(client):
    out = StringIO()
    call_command(
        "create_property",
        "--org",
        "Acme",
        "--name",
        "Shop",
        "--origin",
        "https://Shop.Example.com/",
        "--origin",
        "http://localhost:3000",
        "--timezone",
        "Europe/Paris",
        "--json",
        stdout=out,
    )
    created = json.loads(out.getvalue())
    assert set(created) == {"property_id", "write_key", "read_key"}
    prop = Property.unscoped.get(public_id=created["property_id"])
    assert prop.organization.name == "Acme"
    assert prop.timezone == "Europe/Paris"
    assert prop.allowed_origins == ["http://localhost:3000", "https://shop.example.com"]
    assert created["write_key"].startswith("wk_") and created["read_key"].startswith("rk_")
    stored = ApiKey.unscoped.filter(property=prop)
    assert {k.key_hash for k in stored} == {api_key_hash(created["write_key"]), api_key_hash(created["read_key"])}
    assert not any(created["write_key"] in (k.prefix, k.key_hash) for k in stored), "secrets are not stored"
    report = client.get(f"/v1/properties/{prop.public_id}/overview", HTTP_AUTHORIZATION=f"Bearer {created['read_key']}")
    assert report.status_code == 200


def test_second_property_of_an_organisation_reuses_it():
    call_command("create_property", "--org", "Acme", "--name", "One", "--json", stdout=StringIO())
    call_command("create_property", "--org", "Acme", "--name", "Two", "--json", stdout=StringIO())
    assert Property.unscoped.filter(organization__name="Acme").count() == 2


@pytest.mark.parametrize(
    ("option", "value"), [("--timezone", "Mars/Olympus"), ("--origin", "example.com/path"), ("--domain", "a b")]
)
def test_invalid_timezone_or_origin_is_a_clear_error_and_creates_nothing(option, value):
    with pytest.raises(CommandError):
        call_command("create_property", "--org", "Acme", "--name", "Bad", option, value, "--json", stdout=StringIO())
    assert not Property.unscoped.exists()


def test_domains_are_stored_primary_first_and_give_the_default_origins():
    out = StringIO()
    call_command(
        "create_property", "--org", "Acme", "--name", "Shop", "--domain", "Shop.Example.com", "--domain", "example.com",
        "--json", stdout=out,
    )  # fmt: skip
    prop = Property.unscoped.get(public_id=json.loads(out.getvalue())["property_id"])
    assert prop.domains == ["shop.example.com", "example.com"]
    assert prop.allowed_origins == ["https://example.com", "https://shop.example.com"]


def test_a_domain_of_another_property_is_a_clear_error():
    call_command("create_property", "--org", "Acme", "--name", "One", "--domain", "example.com", stdout=StringIO())
    with pytest.raises(CommandError, match=r"example\.com is already the domain of another property"):
        call_command("create_property", "--org", "Other", "--name", "Two", "--domain", "example.com", stdout=StringIO())
    assert Property.unscoped.count() == 1
