"""A Google Ads Query Language parser for the subset the emulator serves.

Grammar (Google's, case-insensitive keywords)::

    SELECT field (, field)* FROM resource
    [WHERE condition (AND condition)*]
    [ORDER BY field [ASC|DESC] (, field [ASC|DESC])*]
    [LIMIT n] [PARAMETERS name = value (, name = value)*]

    condition := field (= | != | > | >= | < | <= ) value
               | field [NOT] IN (value, ...) | field [NOT] LIKE 'text'
               | field IS [NOT] NULL | field DURING DATE_RANGE
               | field BETWEEN value AND value | field [NOT] REGEXP_MATCH 'text'

Syntax errors raise ``QueryError`` with a ``queryError`` code of Google's QueryErrorEnum.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any


class QueryError(Exception):
    """A GAQL problem: ``code`` is a QueryErrorEnum name, ``trigger`` the offending text."""

    def __init__(self, code: str, message: str, trigger: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.trigger = trigger


@dataclass(frozen=True)
class Literal:
    """A value from the query: ``kind`` is string, number or word (enum/boolean/keyword)."""

    kind: str
    text: str

    @property
    def value(self) -> Any:
        if self.kind == "number":
            return float(self.text) if any(c in self.text for c in ".eE") else int(self.text)
        return self.text


@dataclass
class Condition:
    field: str
    operator: str  # =, !=, >, >=, <, <=, IN, NOT IN, LIKE, NOT LIKE, IS NULL, IS NOT NULL,
    # DURING, BETWEEN, REGEXP_MATCH, NOT REGEXP_MATCH
    values: list[Literal] = dataclasses.field(default_factory=list)


@dataclass
class Query:
    select: list[str]
    resource: str
    where: list[Condition]
    order_by: list[tuple[str, bool]]  # (field, descending)
    limit: int | None
    parameters: dict[str, str]


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<unterminated>['"])
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.]))
      | (?P<name>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<op>!=|>=|<=|=|>|<|\(|\)|,)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "ORDER", "BY", "ASC", "DESC", "LIMIT",
            "PARAMETERS", "IN", "NOT", "LIKE", "IS", "NULL", "DURING", "BETWEEN",
            "REGEXP_MATCH", "CONTAINS", "ANY", "ALL", "NONE"}  # fmt: skip


@dataclass
class Token:
    kind: str  # string, number, name, op, keyword
    text: str


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern always matches something
            break
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "unterminated":
            raise QueryError("STRING_NOT_TERMINATED", "A string literal is not terminated.", text[match.start(kind):])  # fmt: skip
        if kind == "bad":
            raise QueryError("BAD_SYMBOL", f"Invalid symbol in the query: '{value}'.", value)
        if kind == "string":
            if "\n" in value:
                raise QueryError("PROHIBITED_NEWLINE_IN_STRING", "Newlines are not allowed in strings.", value)  # fmt: skip
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        if kind == "name" and value.upper() in KEYWORDS:
            kind, value = "keyword", value.upper()
        tokens.append(Token(kind, value))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self, offset: int = 0) -> Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("UNEXPECTED_END_OF_QUERY", "Unexpected end of query.")
        self.pos += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "keyword" and token.text in words

    def expect_keyword(self, word: str, code: str) -> None:
        token = self.peek()
        if token is None or token.kind != "keyword" or token.text != word:
            found = token.text if token else "end of query"
            raise QueryError(code, f"Expected {word} but found '{found}'.", found)
        self.pos += 1

    def field_name(self, clause: str) -> str:
        token = self.next()
        if token.kind != "name":
            raise QueryError("BAD_FIELD_NAME", f"Error in {clause} clause: invalid field name '{token.text}'.", token.text)  # fmt: skip
        return token.text

    def literal(self) -> Literal:
        token = self.next()
        if token.kind == "string":
            return Literal("string", token.text)
        if token.kind == "number":
            return Literal("number", token.text)
        if token.kind in ("name", "keyword"):
            return Literal("word", token.text)
        raise QueryError("BAD_VALUE", f"Invalid value '{token.text}'.", token.text)

    def literal_list(self) -> list[Literal]:
        token = self.next()
        if token.text != "(":
            raise QueryError("EXPECTED_LIST", "Expected a list of values in parentheses.", token.text)  # fmt: skip
        values: list[Literal] = []
        if self.peek() is not None and self.peek().text == ")":  # type: ignore[union-attr]
            self.pos += 1
            raise QueryError("PROHIBITED_EMPTY_LIST_IN_CONDITION", "Empty list in a condition.")
        while True:
            values.append(self.literal())
            token = self.next()
            if token.text == ")":
                return values
            if token.text != ",":
                raise QueryError("UNEXPECTED_INPUT", f"Unexpected input '{token.text}'.", token.text)  # fmt: skip

    def condition(self) -> Condition:
        name = self.field_name("WHERE")
        token = self.next()
        if token.kind == "op" and token.text in ("=", "!=", ">", ">=", "<", "<="):
            return Condition(name, token.text, [self.literal()])
        word = token.text if token.kind == "keyword" else ""
        negated = False
        if word == "NOT":
            negated = True
            word = self.next().text
        if word == "IN":
            return Condition(name, "NOT IN" if negated else "IN", self.literal_list())
        if word == "LIKE":
            return Condition(name, "NOT LIKE" if negated else "LIKE", [self.literal()])
        if word == "REGEXP_MATCH":
            return Condition(name, "NOT REGEXP_MATCH" if negated else "REGEXP_MATCH", [self.literal()])  # fmt: skip
        if word == "IS" and not negated:
            if self.at_keyword("NOT"):
                self.pos += 1
                self.expect_keyword("NULL", "BAD_OPERATOR")
                return Condition(name, "IS NOT NULL")
            self.expect_keyword("NULL", "BAD_OPERATOR")
            return Condition(name, "IS NULL")
        if word == "DURING" and not negated:
            return Condition(name, "DURING", [self.literal()])
        if word == "BETWEEN" and not negated:
            low = self.literal()
            self.expect_keyword("AND", "EXPECTED_AND")
            return Condition(name, "BETWEEN", [low, self.literal()])
        if word == "CONTAINS":
            raise QueryError("OPERATOR_FIELD_MISMATCH", "CONTAINS applies to repeated fields only.", name)  # fmt: skip
        raise QueryError("BAD_OPERATOR", f"Invalid operator '{token.text}'.", token.text)

    def parse(self) -> Query:
        self.expect_keyword("SELECT", "EXPECTED_SELECT")
        select = [self.field_name("SELECT")]
        while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
            self.pos += 1
            select.append(self.field_name("SELECT"))
        self.expect_keyword("FROM", "EXPECTED_FROM")
        resource_token = self.next()
        if resource_token.kind != "name" or "." in resource_token.text:
            raise QueryError("BAD_RESOURCE_TYPE_IN_FROM_CLAUSE", f"Invalid resource in FROM clause: '{resource_token.text}'.", resource_token.text)  # fmt: skip
        where: list[Condition] = []
        if self.at_keyword("WHERE"):
            self.pos += 1
            where.append(self.condition())
            while self.at_keyword("AND"):
                self.pos += 1
                where.append(self.condition())
        order_by: list[tuple[str, bool]] = []
        if self.at_keyword("ORDER"):
            self.pos += 1
            self.expect_keyword("BY", "EXPECTED_BY")
            while True:
                name = self.field_name("ORDER BY")
                descending = False
                if self.at_keyword("ASC", "DESC"):
                    descending = self.next().text == "DESC"
                order_by.append((name, descending))
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.pos += 1
                    continue
                break
        limit: int | None = None
        if self.at_keyword("LIMIT"):
            self.pos += 1
            token = self.next()
            if token.kind != "number" or not token.text.isdigit():
                raise QueryError("BAD_LIMIT_VALUE", f"Invalid LIMIT value '{token.text}'.", token.text)  # fmt: skip
            limit = int(token.text)
            if limit < 1:
                raise QueryError("LIMIT_VALUE_TOO_LOW", "LIMIT must be at least 1.", token.text)
        parameters: dict[str, str] = {}
        if self.at_keyword("PARAMETERS"):
            self.pos += 1
            while True:
                name_token = self.next()
                if self.next().text != "=":
                    raise QueryError("BAD_PARAMETER_NAME", "Expected name = value.", name_token.text)  # fmt: skip
                parameters[name_token.text] = self.literal().text
                if self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                    self.pos += 1
                    continue
                break
        extra = self.peek()
        if extra is not None:
            if extra.kind == "keyword" and extra.text == "FROM":
                raise QueryError("UNEXPECTED_FROM_CLAUSE", "Unexpected FROM clause.", extra.text)
            raise QueryError("UNEXPECTED_INPUT", f"Unexpected input '{extra.text}'.", extra.text)
        return Query(select, resource_token.text, where, order_by, limit, parameters)


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise QueryError("EXPECTED_SELECT", "The query is empty.")
    return _Parser(tokenize(text)).parse()
