"""The regular expressions `matches` accepts: a subset that means the same in PostgreSQL (`~`) and in
RE2, which evaluates them in Python (the oracle, SQLite) in time linear in the value.

Allowed: literal characters; `.` (any character, a newline too); `^` and `$` (start and end of the
value); classes `[abc]`, `[^a-z]`; escapes of punctuation only (`\\.`, `\\/`, `\\-`, …); groups
`( )` and `(?: )` with alternation `|`; the quantifiers `*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`.
Refused: backreferences, lookaround, flags and other `(?` forms, class shorthands (`\\d`, `\\w`,
`\\s`, `\\b`: each engine gives them another meaning), POSIX classes, lazy or possessive
quantifiers, a group repeated by `*`, `+` or `{…}` that holds one of them (`(a+)+`, `(a{9}){9}`:
PostgreSQL compiles repetitions into states and refuses such products as too complex; `(-[a-z]+)?`
is fine), and an unescaped `{`, `}` or `]`
outside its construct (a literal in some engines, an error in others). docs/query.md lists them too.
"""

import re
from dataclasses import dataclass, field
from typing import Literal, NoReturn, Protocol

import re2

MAX_PATTERN_LENGTH = 256
# PostgreSQL refuses a repetition count above 255 (DUPMAX).
MAX_REPEAT = 255
ESCAPABLE = frozenset(".^$*+?()[]{}|\\/-")
_REPEAT = re.compile(r"\{(\d{1,3})(,(\d{0,3}))?\}")


class UnsafePattern(ValueError):
    """A pattern outside the subset; the message says which construct and where."""


@dataclass
class _Group:
    empty: bool = True
    quantified: bool = False


# What a quantifier would repeat: "atom", a closed _Group, or None (nothing repeatable).
_Repeatable = Literal["atom"] | _Group | None


@dataclass
class _Parser:
    pattern: str
    position: int = 0
    groups: list[_Group] = field(default_factory=lambda: [_Group()])
    python: list[str] = field(default_factory=list)
    last: _Repeatable = None

    def fail(self, message: str) -> NoReturn:
        raise UnsafePattern(f"{message} (at character {self.position + 1})")

    def parse(self) -> str:
        if len(self.pattern) > MAX_PATTERN_LENGTH:
            raise UnsafePattern(f"a pattern is at most {MAX_PATTERN_LENGTH} characters")
        while self.position < len(self.pattern):
            self.step()
        if len(self.groups) > 1:
            self.fail("a group is not closed")
        return "".join(self.python)

    def step(self) -> None:
        char = self.pattern[self.position]
        if char in "*+?{":
            self.quantifier(char)
            return
        if char != ")":
            self.groups[-1].empty = False
        if char == "\\":
            escaped = self.pattern[self.position + 1 : self.position + 2]
            if escaped not in ESCAPABLE or not escaped:
                self.fail("only punctuation may be escaped (\\d, \\w, \\s, \\b and backreferences are not supported)")
            self.emit(_escaped(escaped), "atom", 2)
        elif char == "[":
            self.character_class()
        elif char == "(":
            if self.pattern.startswith("(?", self.position) and not self.pattern.startswith("(?:", self.position):
                self.fail("lookaround, flags and named groups are not supported; (?: ) is")
            self.groups.append(_Group())
            self.emit("(?:", None, 3 if self.pattern.startswith("(?:", self.position) else 1)
        elif char == ")":
            if len(self.groups) == 1:
                self.fail("a ) closes no group")
            group = self.groups.pop()
            if group.empty:
                self.fail("a group may not be empty")
            parent = self.groups[-1]
            parent.quantified |= group.quantified
            self.emit(")", group, 1)
        elif char == "|":
            self.emit("|", None, 1)
        elif char in "]}":
            self.fail(f"write \\{char} for a literal {char}")
        elif char == "^":
            self.emit("^", None, 1)
        elif char == "$":
            self.emit("$", None, 1)
        elif char == ".":
            self.emit(".", "atom", 1)
        else:
            self.emit(_escaped(char), "atom", 1)

    def emit(self, python: str, last: _Repeatable, width: int) -> None:
        self.python.append(python)
        self.last = last
        self.position += width

    def quantifier(self, char: str) -> None:
        if self.last is None:
            self.fail("nothing to repeat (a quantifier after a quantifier, an anchor or at the start)")
        repeats = char != "?"
        if repeats and isinstance(self.last, _Group) and self.last.quantified:
            self.fail("a repeated group may not hold a repeating quantifier")
        width = 1
        if char == "{":
            repeat = _REPEAT.match(self.pattern, self.position)
            if repeat is None:
                self.fail("{ begins a repetition {n}, {n,} or {n,m}; write \\{ for a literal {")
            low, comma, high = repeat.group(1), repeat.group(2), repeat.group(3)
            if int(low) > MAX_REPEAT or (high and (int(high) > MAX_REPEAT or int(high) < int(low))):
                self.fail(f"a repetition counts from 0 to {MAX_REPEAT}, its lower bound first")
            width = len(repeat.group(0))
            char = "{" + low + (comma or "") + "}"
        self.groups[-1].quantified |= repeats
        self.emit(char, None, width)

    def character_class(self) -> None:
        start = self.position
        self.position += 1
        negated = self.pattern.startswith("^", self.position)
        self.position += negated
        members: list[str] = []
        while True:
            if self.position >= len(self.pattern):
                self.position = start
                self.fail("a [ class is not closed")
            char = self.pattern[self.position]
            if char == "]":
                break
            if char == "[":
                self.fail("write \\[ for a literal [ in a class (POSIX classes are not supported)")
            low = self.class_character()
            if self.pattern.startswith("-", self.position) and not self.pattern.startswith("-]", self.position):
                self.position += 1
                high = self.class_character()
                if high < low:
                    self.fail("a range goes from its lower character to its higher one")
                members.append(f"{_escaped(low)}-{_escaped(high)}")
            else:
                members.append(_escaped(low))
        if not members:
            self.fail("a class may not be empty")
        self.emit("[" + ("^" if negated else "") + "".join(members) + "]", "atom", 1)

    def class_character(self) -> str:
        char = self.pattern[self.position]
        if char == "\\":
            escaped = self.pattern[self.position + 1 : self.position + 2]
            if escaped not in ESCAPABLE or not escaped:
                self.fail("only punctuation may be escaped in a class")
            self.position += 2
            return escaped
        if char == "-":
            self.fail("write \\- for a literal - in a class")
        if char == "[":
            self.fail("write \\[ for a literal [ in a class")
        self.position += 1
        return char


def _escaped(char: str) -> str:
    return "\\" + char if char in ESCAPABLE else char


def safe_regex_re2(pattern: str) -> str:
    """The RE2 pattern that matches what `pattern` matches in PostgreSQL; raise UnsafePattern if
    `pattern` is outside the subset. RE2's `$` is the end of the value, as PostgreSQL's; `(?s)` lets
    `.` match a newline, as PostgreSQL's does."""
    return "(?s)" + _Parser(pattern).parse()


# The characters that begin a construct outside a class (an unescaped `]` or `}` is refused).
_CONSTRUCTS = frozenset(".^$*+?()[{|")


def literal_prefix(pattern: str) -> str:
    """The text that every value a pattern of the subset matches begins with: after a leading `^`,
    its literal characters up to the first construct, less one that a quantifier may leave out
    ('' without a leading `^`, or with an alternation outside a group, which may match elsewhere).
    A store tests it first: a cheap test that rules out most values before the pattern runs."""
    if not pattern.startswith("^") or _alternates(pattern):
        return ""
    prefix, position = [], 1
    while position < len(pattern) and pattern[position] not in _CONSTRUCTS:
        width = 2 if pattern[position] == "\\" else 1
        following = pattern[position + width : position + width + 1]
        if following in ("*", "?", "{"):
            break
        prefix.append(pattern[position + width - 1])
        position += width
        if following == "+":
            break
    return "".join(prefix)


def _alternates(pattern: str) -> bool:
    """Whether `pattern` has a `|` outside every group and class."""
    depth, position, in_class = 0, 0, False
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            position += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            return True
        position += 1
    return False


class SafeRegex(Protocol):
    """What the queries use of a compiled RE2 pattern (re2 ships no types)."""

    def search(self, text: str, /) -> object | None: ...


def safe_regex_compile(pattern: str) -> SafeRegex:
    """`pattern`, checked and compiled by RE2, whose `search` means what PostgreSQL's `~` means."""
    compiled: SafeRegex = re2.compile(safe_regex_re2(pattern))
    return compiled
