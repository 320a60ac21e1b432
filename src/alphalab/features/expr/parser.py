"""Formula text -> operator tree (a hand-written Pratt parser; nothing is ``eval``-ed).

Grammar, lowest to highest precedence::

    expr    := or ('?' expr ':' expr)?          right-associative ternary
    or      := and (('||' | '|') and)*
    and     := cmp (('&&' | '&') cmp)*
    cmp     := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)*
    sum     := prod (('+' | '-') prod)*
    prod    := unary (('*' | '/') unary)*
    unary   := ('-' | '+' | '!') unary | power
    power   := atom ('^' unary)?                 right-associative, binds tighter than unary minus
    atom    := NUMBER | NAME | NAME '(' args ')' | '(' expr ')'

Names may contain dots (``IndClass.sector``) and may start with ``$`` (Qlib
style, the ``$`` is dropped). Operator names are case-insensitive
(``Ts_Rank`` = ``ts_rank``); field names are kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from alphalab.errors import DataError

__all__ = ["Call", "FormulaError", "Name", "Node", "Num", "parse"]


class FormulaError(DataError):
    """A formula cannot be parsed or compiled; the message shows where.

    Attributes
    ----------
    formula : str
        The formula text.
    pos : int
        0-based character offset of the problem (``-1`` when not positional).
    """

    def __init__(self, message: str, formula: str, pos: int = -1) -> None:
        self.formula = formula
        self.pos = pos
        self.reason = message
        text = f"{message} in formula {formula!r}"
        if pos >= 0:
            text += f" at position {pos}\n  {formula}\n  {' ' * pos}^"
        super().__init__(text)


@dataclass(frozen=True, eq=False)
class Node:
    """Base class of the operator tree; ``pos`` is the offset in the formula."""

    pos: int = field(default=0, compare=False, kw_only=True)

    @property
    def key(self) -> str:
        """A canonical text of the subtree: equal keys mean equal values."""
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class Num(Node):
    value: float

    @property
    def key(self) -> str:
        return repr(float(self.value))


@dataclass(frozen=True, eq=False)
class Name(Node):
    """A field (``close``), a derived field (``adv20``) or a group (``IndClass.sector``)."""

    name: str

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class Call(Node):
    """An operator applied to arguments; infix operators become calls (``a + b`` -> ``add``)."""

    op: str
    args: tuple[Node, ...]

    @property
    def key(self) -> str:
        # cached: keys are asked for at every node of every evaluation
        k = self.__dict__.get("_key")
        if k is None:
            k = f"{self.op}({','.join(a.key for a in self.args)})"
            object.__setattr__(self, "_key", k)
        return k


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>\|\||&&|<=|>=|==|!=|[-+*/^<>()?:,|&!])
    """,
    re.VERBOSE,
)

_BINARY = {
    "||": (1, "or"),
    "|": (1, "or"),
    "&&": (2, "and"),
    "&": (2, "and"),
    "<": (3, "lt"),
    "<=": (3, "le"),
    ">": (3, "gt"),
    ">=": (3, "ge"),
    "==": (3, "eq"),
    "!=": (3, "ne"),
    "+": (4, "add"),
    "-": (4, "sub"),
    "*": (5, "mul"),
    "/": (5, "div"),
}


@dataclass
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i = 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise FormulaError(f"unexpected character {text[i]!r}", text, i)
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(_Tok(kind, m.group(), i))
        i = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, text: str) -> _Tok:
        tok = self.next()
        if tok.text != text:
            found = repr(tok.text) if tok.kind != "end" else "end of formula"
            raise FormulaError(f"expected {text!r}, found {found}", self.text, tok.pos)
        return tok

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise FormulaError("empty formula", self.text, 0)
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise FormulaError(f"unexpected {tok.text!r}", self.text, tok.pos)
        return node

    def expr(self) -> Node:
        cond = self.binary(1)
        tok = self.peek()
        if tok.text == "?":
            self.next()
            a = self.expr()
            self.expect(":")
            b = self.expr()
            return Call("where", (cond, a, b), pos=tok.pos)
        return cond

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            spec = _BINARY.get(tok.text) if tok.kind == "op" else None
            if spec is None or spec[0] < min_prec:
                return left
            self.next()
            right = self.binary(spec[0] + 1)
            left = Call(spec[1], (left, right), pos=tok.pos)

    def unary(self) -> Node:
        tok = self.peek()
        if tok.text in ("-", "+", "!"):
            self.next()
            operand = self.unary()
            if tok.text == "+":
                return operand
            if tok.text == "-" and isinstance(operand, Num):
                return Num(-operand.value, pos=tok.pos)
            return Call("neg" if tok.text == "-" else "not", (operand,), pos=tok.pos)
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        tok = self.peek()
        if tok.text == "^":
            self.next()
            return Call("pow", (base, self.unary()), pos=tok.pos)
        return base

    def atom(self) -> Node:
        tok = self.next()
        if tok.kind == "num":
            return Num(float(tok.text), pos=tok.pos)
        if tok.kind == "name":
            name = tok.text.lstrip("$")
            if self.peek().text == "(":
                self.next()
                args: list[Node] = []
                if self.peek().text != ")":
                    args.append(self.expr())
                    while self.peek().text == ",":
                        self.next()
                        args.append(self.expr())
                self.expect(")")
                return Call(name.lower(), tuple(args), pos=tok.pos)
            return Name(name, pos=tok.pos)
        if tok.text == "(":
            node = self.expr()
            self.expect(")")
            return node
        found = repr(tok.text) if tok.kind != "end" else "end of formula"
        raise FormulaError(f"unexpected {found}", self.text, tok.pos)


def parse(text: str) -> Node:
    """Parse formula text into an operator tree (no names are resolved yet).

    Parameters
    ----------
    text : str
        The formula, e.g. ``"rank(ts_corr(close, volume, 10))"``.

    Returns
    -------
    Node
        The root of the tree.

    Raises
    ------
    FormulaError
        With the formula text and the position of the first problem.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__}", str(text))
    return _Parser(text).parse()
