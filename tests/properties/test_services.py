"""Property services: domains normalized, unique on the whole server, and never a server error."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from apps.properties.services import _HOSTNAME, _domains_set, domain_normalize, property_update
from tests.factories import PropertyFactory


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Example.COM", "example.com"),
        (" www.example.com. ", "www.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("localhost", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
    ],
)
def test_a_domain_is_stored_as_its_lower_case_ascii_hostname(typed, stored):
    assert domain_normalize(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", "https://example.com", "example.com/shop", "example.com:8080", "exa mple.com", "a..b", "-a.example",
     "a_b.example", "x" * 64 + ".example", "\x00", "[::1]"],
)  # fmt: skip
def test_anything_but_a_hostname_is_refused_with_a_message(typed):
    with pytest.raises(ValidationError, match=r"is not a domain like example\.com"):
        domain_normalize(typed)


@given(st.text(max_size=300))
def test_any_text_is_a_hostname_or_a_validation_error_never_another_exception(text):
    try:
        hostname = domain_normalize(text)
    except ValidationError:
        return
    assert _HOSTNAME.fullmatch(hostname) and hostname == hostname.lower()


@pytest.mark.django_db
def test_when_another_property_takes_a_domain_after_the_check_the_unique_index_refuses_it():
    """Two requests may both pass property_domains_check; the second write must still fail cleanly."""
    mine, theirs = PropertyFactory(), PropertyFactory()
    property_update(property=mine, domains=["mine.example"])
    property_update(property=theirs, domains=["raced.example"])
    with pytest.raises(ValidationError) as refused:
        _domains_set(mine, ["raced.example"])  # the write that follows a check made before `theirs` took it
    assert "has just become the domain of another property" in refused.value.message_dict["domains"][0]
    assert (mine.domains, theirs.domains) == (["mine.example"], ["raced.example"])
