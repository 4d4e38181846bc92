"""Compile phonenumbers' digit regexes into one DFA, so millions of numbers match in numpy.

Why: phonenumbers decides region, type and validity with regexes, one number at a time
(about 25 us each).  Its patterns use a small regular subset (digits, ``\\d``, classes,
groups, ``|``, ``?``, ``{n,m}``, ``$``), so they compile to a deterministic automaton over
the ten digits; running it is one table lookup per digit column for all numbers at once.

A *condition* is a pattern plus how it must match, as phonenumbers uses it:
``full`` (``fullmatch``, number patterns) or ``prefix`` (``re.match``: leading digits,
national prefix); ``nonempty`` ignores an empty match.  The DFA tags each state with the
conditions that hold when the input ends there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALL_DIGITS = (1 << 10) - 1


@dataclass(frozen=True)
class Condition:
    pattern: str
    kind: str = "full"  # "full" or "prefix"
    nonempty: bool = False


class RegexSyntaxError(ValueError):
    """A pattern uses syntax outside the digit subset this compiler understands."""


# --- parsing -------------------------------------------------------------------------------
# AST: ("set", mask) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, lo, hi|None) | ("end",)


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def parse(self) -> tuple:
        node = self._alt()
        if self.i != len(self.p):
            raise RegexSyntaxError(f"unexpected {self.p[self.i]!r} at {self.i} in {self.p!r}")
        return node

    def _peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def _alt(self) -> tuple:
        branches = [self._seq()]
        while self._peek() == "|":
            self.i += 1
            branches.append(self._seq())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def _seq(self) -> tuple:
        items = []
        while self._peek() not in ("", "|", ")"):
            items.append(self._quantified(self._atom()))
        return ("cat", items)

    def _atom(self) -> tuple:
        ch = self._peek()
        self.i += 1
        if ch == "(":
            if self.p.startswith("?:", self.i):
                self.i += 2
            elif self._peek() == "?":
                raise RegexSyntaxError(f"group extension at {self.i} in {self.p!r}")
            node = self._alt()
            if self._peek() != ")":
                raise RegexSyntaxError(f"missing ) in {self.p!r}")
            self.i += 1
            return node
        if ch == "[":
            return ("set", self._class())
        if ch == "\\":
            esc = self._peek()
            self.i += 1
            if esc == "d":
                return ("set", ALL_DIGITS)
            if esc.isdigit():
                raise RegexSyntaxError(f"backreference in {self.p!r}")
            return ("set", 0)  # an escaped non-digit never matches a digit string
        if ch == "$":
            return ("end",)
        if ch == ".":
            return ("set", ALL_DIGITS)
        if ch.isdigit():
            return ("set", 1 << int(ch))
        if ch in "*+?{":
            raise RegexSyntaxError(f"nothing to repeat at {self.i - 1} in {self.p!r}")
        return ("set", 0)  # a literal non-digit: matches nothing in a digit string

    def _class(self) -> int:
        negate = self._peek() == "^"
        if negate:
            self.i += 1
        mask, first = 0, True
        while True:
            ch = self._peek()
            if ch == "":
                raise RegexSyntaxError(f"missing ] in {self.p!r}")
            if ch == "]" and not first:
                self.i += 1
                break
            first = False
            self.i += 1
            if ch == "\\":
                esc = self._peek()
                self.i += 1
                mask |= ALL_DIGITS if esc == "d" else (1 << int(esc) if esc.isdigit() else 0)
                continue
            if self._peek() == "-" and self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
                hi = self.p[self.i + 1]
                self.i += 2
                if ch.isdigit() and hi.isdigit():
                    for d in range(int(ch), int(hi) + 1):
                        mask |= 1 << d
                continue
            if ch.isdigit():
                mask |= 1 << int(ch)
        return (ALL_DIGITS & ~mask) if negate else mask

    def _quantified(self, node: tuple) -> tuple:
        while True:
            ch = self._peek()
            if ch == "?":
                lo, hi = 0, 1
            elif ch == "*":
                lo, hi = 0, None
            elif ch == "+":
                lo, hi = 1, None
            elif ch == "{":
                close = self.p.index("}", self.i)
                body = self.p[self.i + 1 : close]
                lo_s, _, hi_s = body.partition(",")
                lo = int(lo_s or 0)
                hi = lo if "," not in body else (int(hi_s) if hi_s else None)
                self.i = close
            else:
                return node
            self.i += 1
            if self._peek() == "?":  # lazy: same language
                self.i += 1
            node = ("rep", node, lo, hi)


def parse(pattern: str) -> tuple:
    """The AST of a digit regex (raises RegexSyntaxError outside the supported subset)."""
    return _Parser(pattern).parse()


# --- NFA -----------------------------------------------------------------------------------


class _NFA:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.end_eps: list[list[int]] = []  # taken only when the input has ended ("$")
        self.edges: list[list[tuple[int, int]]] = []
        self.tag: dict[int, int] = {}

    def new(self) -> int:
        self.eps.append([])
        self.end_eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, node: tuple, s: int) -> int:
        kind = node[0]
        if kind == "set":
            e = self.new()
            if node[1]:
                self.edges[s].append((node[1], e))
            return e
        if kind == "cat":
            for child in node[1]:
                s = self.build(child, s)
            return s
        if kind == "alt":
            e = self.new()
            for child in node[1]:
                b = self.new()
                self.eps[s].append(b)
                self.eps[self.build(child, b)].append(e)
            return e
        if kind == "end":
            e = self.new()
            self.end_eps[s].append(e)
            return e
        _, child, lo, hi = node
        for _ in range(lo):
            s = self.build(child, s)
        if hi is None:
            loop = self.new()
            self.eps[s].append(loop)
            self.eps[self.build(child, loop)].append(loop)
            return loop
        after = self.new()
        for _ in range(hi - lo):
            self.eps[s].append(after)
            s = self.build(child, s)
        self.eps[s].append(after)
        return after

    def closure(self, nodes: set[int] | list[int], with_end: bool = False) -> frozenset[int]:
        seen = set(nodes)
        stack = list(seen)
        while stack:
            n = stack.pop()
            nxt = self.eps[n] + self.end_eps[n] if with_end else self.eps[n]
            for m in nxt:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return frozenset(seen)


def _add_condition(nfa: _NFA, root: int, cid: int, cond: Condition) -> None:
    start = nfa.new()
    accept = nfa.build(parse(cond.pattern), start)
    loop = None
    if cond.kind == "prefix":
        loop = nfa.new()  # anything may follow a prefix match
        nfa.edges[loop].append((ALL_DIGITS, loop))
        nfa.eps[accept].append(loop)
        accept = loop
    elif cond.kind != "full":
        raise ValueError(f"unknown condition kind {cond.kind!r}")
    nfa.tag[accept] = cid
    if cond.nonempty:
        # Enter through a node that must consume a digit first: the empty match is excluded.
        entry = nfa.new()
        for n in nfa.closure([start]):
            if n != loop:  # the "anything follows" loop only counts after a real match
                nfa.edges[entry].extend(nfa.edges[n])
        start = entry
    nfa.eps[root].append(start)


@dataclass
class DFA:
    """``trans[s, d]``: next state on digit d (state 0 is dead); ``tags[s]``: conditions met at end."""

    trans: np.ndarray  # (n_states, 10) int32
    tags: list[frozenset[int]]
    start: int


def compile_conditions(conditions: list[Condition]) -> DFA:
    """One minimal DFA whose state tags say which conditions hold for the digits read so far."""
    nfa = _NFA()
    root = nfa.new()
    for cid, cond in enumerate(conditions):
        _add_condition(nfa, root, cid, cond)

    ids: dict[frozenset[int], int] = {frozenset(): 0}
    order: list[frozenset[int]] = [frozenset()]
    rows: list[list[int]] = [[0] * 10]
    start_set = nfa.closure([root])
    ids[start_set] = 1
    order.append(start_set)
    rows.append([0] * 10)
    k = 1
    while k < len(order):
        current = order[k]
        targets: list[list[int]] = [[] for _ in range(10)]
        for n in current:
            for mask, t in nfa.edges[n]:
                for d in range(10):
                    if mask >> d & 1:
                        targets[d].append(t)
        for d in range(10):
            if not targets[d]:
                continue
            nxt = nfa.closure(targets[d])
            sid = ids.get(nxt)
            if sid is None:
                sid = ids[nxt] = len(order)
                order.append(nxt)
                rows.append([0] * 10)
            rows[k][d] = sid
        k += 1
    tags = [frozenset(nfa.tag[n] for n in nfa.closure(s, with_end=True) if n in nfa.tag) for s in order]
    return minimise(DFA(np.array(rows, dtype=np.int32), tags, 1))


def minimise(dfa: DFA) -> DFA:
    """Merge states that no input can tell apart (Moore's partition refinement)."""
    tag_ids: dict[frozenset[int], int] = {}
    cls = np.array([tag_ids.setdefault(t, len(tag_ids)) for t in dfa.tags], dtype=np.int64)
    cls[0] = -1  # keep the dead state apart so it stays state 0
    while True:
        sig = np.column_stack([cls, cls[dfa.trans]])
        _, new = np.unique(sig, axis=0, return_inverse=True)
        new = new.ravel()
        if len(np.unique(new)) == len(np.unique(cls)):
            break
        cls = new
    # Renumber so the dead state's class is 0 and the rest follow first appearance.
    remap: dict[int, int] = {int(cls[0]): 0}
    for c in cls:
        remap.setdefault(int(c), len(remap))
    cls_new = np.array([remap[int(c)] for c in cls], dtype=np.int32)
    n = len(remap)
    trans = np.zeros((n, 10), dtype=np.int32)
    tags: list[frozenset[int]] = [frozenset()] * n
    trans[cls_new] = cls_new[dfa.trans]
    for s, c in enumerate(cls_new):
        tags[c] = dfa.tags[s]
    return DFA(trans, tags, int(cls_new[dfa.start]))
