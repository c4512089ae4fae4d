"""The `matches` subset: refused constructs, and the same answer from PostgreSQL and from RE2."""

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.reports.queries.safe_regex import UnsafePattern, literal_prefix, safe_regex_compile, safe_regex_re2


@pytest.mark.parametrize(
    "pattern",
    [
        r"\d+",
        r"\w",
        r"\s",
        r"\bx",
        r"(a)\1",
        "(?=a)",
        "(?!a)",
        "(?<=a)",
        "(?i)a",
        "(?P<n>a)",
        "a*?",
        "a++",
        "(a+)+",
        "(a{2}){3}",
        "a{",
        "a}",
        "]",
        "[[:alpha:]]",
        "[a-]",
        "[z-a]",
        "a{300}",
        "a{3,2}",
        "(a",
        ")",
        "()",
        "[]",
        "*",
        "^*",
        "x" * 257,
    ],
)
def test_constructs_outside_the_subset_are_refused(pattern):
    with pytest.raises(UnsafePattern):
        safe_regex_compile(pattern)


@pytest.mark.parametrize(
    ("pattern", "value", "found"),
    [
        (r"^/blog/[0-9]+$", "/blog/12", True),
        (r"^/blog/[0-9]+$", "/blog/12\n", False),
        ("a.b", "a\nb", True),
        ("(foo|bar)+x", "foobarx", True),
        (r"\.html$", "/index.html", True),
        ("[^a-c]", "abc", False),
        ("^pro(-[a-z]+)?$", "pro-yearly", True),
        ("^pro(-[a-z]+)?$", "pro-", False),
    ],
)
@pytest.mark.django_db
def test_re2_and_postgresql_answer_these_examples_alike(pattern, value, found):
    assert bool(safe_regex_compile(pattern).search(value)) is found
    assert postgresql_matches(pattern, value) is found


def postgresql_matches(pattern: str, value: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s ~ %s", [value, pattern])
        return cursor.fetchone()[0]


atoms = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", r"\.", "/", "(a|b)", "(?:ab)", "\n"])
quantifiers = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,}", "{0,2}"])
patterns = st.builds(
    lambda start, pieces, end: start + "".join(pieces) + end,
    st.sampled_from(["", "^"]),
    st.lists(st.tuples(atoms, quantifiers).map("".join), min_size=1, max_size=5),
    st.sampled_from(["", "$"]),
)


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pattern=patterns, value=st.text(alphabet="ab./\n", max_size=8))
def test_re2_and_postgresql_agree_on_every_pattern_of_the_subset(pattern, value):
    assert bool(safe_regex_compile(pattern).search(value)) is postgresql_matches(pattern, value), (pattern, value)


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("^/docs/.*$", "/docs/"),  # a pageview goal's /docs/** (goals.path_pattern_regex)
        ("^/blog/[^/]*$", "/blog/"),
        (r"^/a\.b\(c", "/a.b(c"),
        ("^/ab?c", "/a"),  # b may be left out
        ("^/ab*", "/a"),
        ("^/ab{2}", "/a"),
        ("^/ab+c", "/ab"),  # b at least once, then who knows
        ("^/(a|b)", "/"),
        ("^/a[|]b", "/a"),
        ("^/a|/b", ""),  # /b may match anywhere
        ("/docs", ""),  # anywhere
        ("^.x", ""),
        ("^$", ""),
    ],
)
def test_literal_prefix_is_what_every_match_begins_with(pattern, prefix):
    assert literal_prefix(pattern) == prefix


@settings(max_examples=300, deadline=None)
@given(pattern=st.lists(patterns, min_size=1, max_size=2).map("|".join), data=st.data())
def test_every_value_a_pattern_matches_begins_with_its_literal_prefix(pattern, data):
    """Values drawn to match the pattern (Python's reading of it, which RE2 then confirms): a store
    tests the prefix before the pattern, so a prefix longer than the matches would lose rows."""
    value = data.draw(st.from_regex(safe_regex_re2(pattern)))
    if safe_regex_compile(pattern).search(value):
        assert value.startswith(literal_prefix(pattern)), (pattern, value)
