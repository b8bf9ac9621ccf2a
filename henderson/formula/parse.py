"""Split an lme4-style formula into its response, fixed part and random terms.

    y ~ x + f + (1 + x | g) + (1 | g1/g2) + (x || h)

gives the response ``y``, the fixed right-hand side ``x + f`` and the random
terms ``(1 + x | g)``, ``(1 | g1)``, ``(1 | g1:g2)``, ``(1 | h)`` and
``(0 + x | h)``, expanded as lme4's ``findbars`` and ``expandDoubleVerts`` do.
A random term wrapped in a structure name, ``diag(1 + x | g)``, ``cs(0 + f | g)``,
``ar1(0 + f | g)`` (glmmTMB's spelling; ``us(...)`` is the default), takes that covariance
structure (henderson.structures).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DesignError
from ..structures import STRUCTURES


@dataclass(frozen=True)
class RandomSpec:
    """One random term ``(lhs | factors)``: effects ``lhs`` varying over the levels of ``factors``.

    ``factors`` is the tuple of grouping columns whose interaction forms the
    grouping factor (one column for ``(1|g)``, two for ``(1|g1:g2)``).
    ``name`` is the group name as lme4 prints it (``"cask:batch"`` for the
    inner term of ``batch/cask``, ``"Subject.1"`` for the second part of ``||``).
    """

    lhs: str
    factors: tuple[str, ...]
    name: str
    structure: str = "us"


@dataclass(frozen=True)
class ParsedFormula:
    response: str
    fixed: str
    random: tuple[RandomSpec, ...]


def split_top_level(text: str, sep: str) -> list[str]:
    """Split ``text`` on the one-character ``sep`` where it is outside all parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise DesignError(f"unbalanced parentheses in formula part {text!r}")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise DesignError(f"unbalanced parentheses in formula part {text!r}")
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _is_bar_term(term: str) -> bool:
    if not (term.startswith("(") and term.endswith(")")):
        return False
    inner = term[1:-1]
    return len(split_top_level(inner, "|")) > 1


def _strip_redundant_parens(term: str) -> str:
    """``((1|g))`` -> ``(1|g)``: parentheses around a whole parenthesized term are dropped, as R's parser does."""
    while term.startswith("((") and _matching_paren(term, 1) == len(term) - 2:
        term = term[1:-1].strip()
    return term


_NOT_IN_A_GROUP = re.compile(r"[+*^()~|%,]")


def _factor_name(name: str, group: str) -> str:
    """One grouping column of ``group``: a column name (backquotes allowed for names with spaces)."""
    name = name.strip()
    if len(name) > 1 and name.startswith("`") and name.endswith("`"):
        return name[1:-1]
    if _NOT_IN_A_GROUP.search(name):
        raise DesignError(f"grouping factor {group!r} is not a column, an interaction (g1:g2) or a nesting "
                          f"(g1/g2) of columns; write one random term per grouping factor, "
                          f"e.g. (1|g1) + (1|g2)")
    return name


def _grouping_factors(group: str) -> list[tuple[str, ...]]:
    """Expand ``g1/g2/g3`` into ``[(g1,), (g1, g2), (g1, g2, g3)]``; ``g1:g2`` stays one factor."""
    nested = [p.strip() for p in group.split("/")]
    if any(not p for p in nested):
        raise DesignError(f"empty grouping factor in {group!r}")
    out, prefix = [], ()
    for part in nested:
        prefix = prefix + tuple(_factor_name(s, group) for s in part.split(":"))
        out.append(prefix)
    return out


def _lme4_order(factors: tuple[str, ...], nested: bool) -> tuple[str, ...]:
    """Factor order as lme4 builds it: the inner term of nested ``a/b`` is ``b:a``; explicit ``a:b`` stays."""
    return tuple(reversed(factors)) if nested else factors


def _expand_uncorrelated(lhs: str) -> list[str]:
    """``1 + x + z`` under ``||`` becomes ``1``, ``0 + x``, ``0 + z`` (lme4's expandDoubleVerts)."""
    terms = [t for t in split_top_level(lhs, "+") if t]
    has_intercept = not any(t in ("0", "-1") for t in terms)
    effects = [t for t in terms if t not in ("0", "1", "-1")]
    out = ["1"] if has_intercept else []
    out += [f"0 + {t}" for t in effects]
    return out


def _structure_of(term: str) -> tuple[str, str]:
    """``diag(1 + x | g)`` -> ("diag", "(1 + x | g)"); a plain ``(... | g)`` is unstructured ("us")."""
    head = term[:term.index("(")]
    return (head, term[len(head):]) if head else ("us", term)


def _random_specs(term: str) -> list[tuple[str, tuple[str, ...], str, str]]:
    structure, term = _structure_of(term)
    inner = term[1:-1]
    if "||" in inner and structure != "us":
        raise DesignError(f"{structure}({inner}): '||' cannot be combined with a covariance structure "
                          f"(diag(...) is the uncorrelated structure)")
    if "||" in inner:
        lhs, group = (s.strip() for s in inner.split("||", 1))
        lhss = _expand_uncorrelated(lhs)
    else:
        lhs, group = (s.strip() for s in split_top_level(inner, "|"))
        lhss = [lhs]
    if not lhs or not group:
        raise DesignError(f"random term {term!r} needs effects and a grouping factor: (lhs | group)")
    chains = _grouping_factors(group)
    nested = "/" in group
    out = []
    for chain in chains:
        factors = _lme4_order(chain, nested)
        out += [(l, factors, ":".join(factors), structure) for l in lhss]
    return out


def _unique_names(specs: list[tuple[str, tuple[str, ...], str, str]]) -> tuple[RandomSpec, ...]:
    """Give repeated group names lme4's suffixes: ``Subject``, ``Subject.1``, ..."""
    seen: dict[str, int] = {}
    out = []
    for lhs, factors, name, structure in specs:
        k = seen.get(name, 0)
        seen[name] = k + 1
        out.append(RandomSpec(lhs=lhs, factors=factors, name=name if k == 0 else f"{name}.{k}",
                              structure=structure))
    return tuple(out)


def _structure_prefix(rest: list[str]) -> str:
    """The structure name (STRUCTURES) that ends the text before a parenthesis, or ""."""
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*$", "".join(rest))
    return m.group(1) if m and m.group(1) in STRUCTURES else ""


def _matching_paren(text: str, start: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
    raise DesignError(f"unbalanced parentheses in formula part {text!r}")


def split_bar_terms(rhs: str) -> tuple[str, list[str]]:
    """Take the random terms ``(... | ...)`` out of ``rhs`` wherever they stand; return (fixed part, random terms).

    ``x + (1|g) - 1`` gives the fixed part ``x - 1``; an empty fixed part means ``1``.
    """
    split_top_level(rhs, "+")            # checks the parentheses
    rest, bars, i = [], [], 0
    while i < len(rhs):
        if rhs[i] == "(":
            j = _matching_paren(rhs, i)
            term = _strip_redundant_parens(rhs[i:j + 1])
            if _is_bar_term(term):
                head = _structure_prefix(rest)
                if head:
                    text = "".join(rest).rstrip()
                    rest = [text[:len(text) - len(head)]]
                before = "".join(rest).rstrip()
                if before.endswith("-"):
                    raise DesignError(f"a random term cannot be subtracted: {term!r}")
                bars.append(head + term)
                rest.append(" ")
            else:
                rest.append(rhs[i:j + 1])
            i = j + 1
        else:
            rest.append(rhs[i])
            i += 1
    parts = [t for t in split_top_level("".join(rest), "+") if t]
    fixed = re.sub(r"\s+", " ", re.sub(r"\+\s*-", "- ", " + ".join(parts))).strip()
    if "|" in fixed:
        raise DesignError(f"a '|' is left in the fixed part {fixed!r}: a random term must stand on its own "
                          "in the sum, as '+ (lhs | group)', not inside other parentheses or functions")
    return (fixed if fixed else "1"), bars


def parse_formula(formula: str) -> ParsedFormula:
    """Parse ``response ~ fixed + (random | group)`` into a ParsedFormula."""
    if not isinstance(formula, str) or "~" not in formula:
        raise DesignError(f"formula must be a string 'response ~ terms', got {formula!r}")
    lhs, rhs = formula.split("~", 1)
    if "~" in rhs:
        raise DesignError(f"formula {formula!r} has more than one '~'")
    response = lhs.strip()
    if not response:
        raise DesignError(f"formula {formula!r} has no response")
    fixed, bars = split_bar_terms(rhs.strip())
    specs = []
    for term in bars:
        specs.extend(_random_specs(term))
    return ParsedFormula(response=response, fixed=fixed, random=_unique_names(specs))
