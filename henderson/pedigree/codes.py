"""Unknown-parent codes, and parents that are never listed as animals.

A parent cell is unknown when it is empty, NaN/None, or one of the declared codes (``unknown``,
compared after :func:`normalize_ids`; default ``DEFAULT_UNKNOWN``). Declared codes replace the
defaults; empty cells and NaN are always unknown.

A parent that is not unknown and not listed as an animal is added as a founder. That is right for
the many pedigrees that list only animals, but wrong for an undeclared unknown-parent code: it
would become one founder shared by all the animals that carry it, a false relationship that biases
sigma2_a. So, by default (``parents_not_listed="check"``), an unlisted parent that

- looks like a code (:func:`looks_like_code`: no letter or digit such as "-" or "*"; only zeros
  such as "00" or "0.0"; a negative integer such as "-9"; a word such as "UNKNOWN", "missing",
  "N/A", "none", "null"), and
- is the parent of at least ``MIN_SHARED`` = 2 animals (a founder parent of a single animal adds
  no relationship among the others, so it cannot bias anything)

is a PedigreeError naming the value and how many animals carry it (and any other code-like
unlisted parent, so that all are declared at once). ``parents_not_listed="founders"`` accepts
every unlisted parent as a founder without a check or a warning.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from henderson.errors import PedigreeError, PedigreeWarning
from henderson.ids import normalize_ids, show_ids

DEFAULT_UNKNOWN = (float("nan"), "", "0", "NA", ".")
PARENTS_NOT_LISTED = ("check", "founders")
MIN_SHARED = 2
CODE_WORDS = frozenset({"unknown", "unk", "unkn", "missing", "miss", "na", "nan", "none", "null", "nil",
                        "void", "undefined", "undef", "nk", "notknown"})
_ZEROS = re.compile(r"[+-]?0+(\.0*)?")
_NEGATIVE = re.compile(r"-[0-9]+")


def unknown_mask(ids: np.ndarray, unknown=DEFAULT_UNKNOWN) -> np.ndarray:
    """True where a normalized id (str or None) is unknown: None, "" or one of the ``unknown`` codes."""
    codes = {c for c in normalize_ids(list(unknown)) if c is not None} if len(unknown) else set()
    codes.add("")
    return np.fromiter((x is None or x in codes for x in ids), dtype=bool, count=len(ids))


def looks_like_code(name: str) -> bool:
    """True for a placeholder rather than an animal: "-", "*", "00", "0.0", "-9", "UNKNOWN", "N/A"..."""
    letters = re.sub(r"[\W_]", "", name)
    return (not letters or bool(_ZEROS.fullmatch(name)) or bool(_NEGATIVE.fullmatch(name))
            or letters.lower() in CODE_WORDS)


def offspring_counts(sire: np.ndarray, dam: np.ndarray, m: int, n: int) -> np.ndarray:
    """For each id m..n-1 (the unlisted parents), how many of the m animals have it as sire or dam."""
    counts = np.bincount(sire[sire >= m] - m, minlength=n - m)
    other = (dam >= m) & (dam != sire)
    return counts + np.bincount(dam[other] - m, minlength=n - m)


def _declared(unknown) -> list[str]:
    return [c for c in normalize_ids(list(unknown)) if c]


def check_unlisted(names, sire, dam, m: int, unknown, parents_not_listed: str) -> None:
    """PedigreeError for unlisted parents that look like codes (module docstring); else a PedigreeWarning
    listing the parents added as founders (none with ``parents_not_listed="founders"``)."""
    added = names[m:]
    if not added.size or parents_not_listed == "founders":
        return
    uses = offspring_counts(sire, dam, m, len(names))
    suspect = [k for k in np.argsort(-uses, kind="stable") if looks_like_code(added[k])]
    if suspect and uses[suspect[0]] >= MIN_SHARED:  # all code-like values are listed, to be fixed at once
        codes = [str(added[k]) for k in suspect]
        hint = _declared(unknown) + codes
        notes = [f"{uses[k]} animal" + ("s" if uses[k] != 1 else "") for k in suspect]
        raise PedigreeError(
            f"parent(s) {show_ids(codes, notes)} are never listed as "
            f"animals and look like unknown-parent codes, so each would become one founder shared by all "
            f"the animals that carry it. If they mean 'unknown', declare them: unknown=[{show_ids(hint)}] "
            f"(command line: --unknown-parent for each code; job file: pedigree_unknown). If they are real "
            f"animals, accept unlisted parents as founders: parents_not_listed='founders' (command line: "
            f"--parents-not-listed founders; job file: pedigree_parents_not_listed)")
    warnings.warn(f"{added.size} parents are not listed as animals and were added as founders: {show_ids(added)}",
                  PedigreeWarning, stacklevel=4)
