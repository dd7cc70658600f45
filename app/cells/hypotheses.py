"""Built-in hypotheses: what a hidden unit might track, as one value per character of a text.

Every hypothesis is a pure function ``text -> numpy array`` with exactly one value per
character of the text, aligned with it and including the character itself (an opening
quote already counts as inside the quotation). Binary hypotheses return bool arrays and
are scored by AUROC; numeric ones return float64 arrays and are scored by correlation.
A user's regular expression is a binary hypothesis too (regex_values).

The code-aware hypotheses (comments, string literals, depths, conditions) share a single
lexical pass over the text, so they agree on what is code and what is not.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import regex

BINARY = "binary"
NUMERIC = "numeric"

TAB_WIDTH = 8
MAX_PATTERN_LENGTH = 1000


@dataclass(frozen=True)
class Hypothesis:
    name: str  # stable id used in the API, e.g. "inside_double_quotes"
    value_type: str  # BINARY or NUMERIC
    description: str  # one sentence for users, shown in the UI and API docs
    function: Callable[[str], np.ndarray]

    def on(self, text: str) -> HypothesisValues:
        return HypothesisValues(self.name, self.value_type, self.function(text))


@dataclass(frozen=True)
class HypothesisValues:
    """A hypothesis evaluated on one text: what the ranking and the probes score units against."""
    name: str
    value_type: str  # BINARY or NUMERIC
    values: np.ndarray  # (N,) bool or float64

    @property
    def is_constant(self) -> bool:
        """A hypothesis that never changes on this text (no comments in a novel) can rank nothing."""
        return len(self.values) == 0 or bool(np.all(self.values == self.values[0]))


# --- helpers -------------------------------------------------------------------------

def code_points(text: str) -> np.ndarray:
    # utf-32 gives exactly one unit per Python character; surrogatepass keeps lone
    # surrogates (from surrogateescape-decoded files) from raising.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _is_char(codes: np.ndarray, chars: str) -> np.ndarray:
    return np.isin(codes, [ord(c) for c in chars])


def _per_char(text: str, predicate: Callable[[str], bool]) -> np.ndarray:
    return np.fromiter((predicate(c) for c in text), dtype=bool, count=len(text))


def _shifted_right(values: np.ndarray, fill) -> np.ndarray:
    """values[i - 1] at position i, `fill` at position 0."""
    shifted = np.empty_like(values)
    if len(values):
        shifted[0] = fill
        shifted[1:] = values[:-1]
    return shifted


def _mark_spans(length: int, spans: Iterable[tuple[int, int]]) -> np.ndarray:
    marked = np.zeros(length, dtype=bool)
    for start, end in spans:
        marked[start:end] = True
    return marked


# --- prose quotes --------------------------------------------------------------------

# A blank line: after a newline (or at the start), only non-newline whitespace, then a newline.
_BLANK_LINE = re.compile(r"(?:^|(?<=\n))[^\S\n]*\n")


def _blank_line_mask(text: str) -> np.ndarray:
    return _mark_spans(len(text), (m.span() for m in _BLANK_LINE.finditer(text)))


def _inside_toggled_quotes(is_quote: np.ndarray, is_reset: np.ndarray) -> np.ndarray:
    """Inside between alternate quote marks, both marks included; `is_reset` closes any open quote.

    Prose dialogue spanning paragraphs reopens its quote at each new paragraph without
    closing the previous one, so counting marks across paragraphs would invert the state.
    """
    quotes_through = np.cumsum(is_quote, dtype=np.int64)
    quotes_before = quotes_through - is_quote
    # quotes_through is non-decreasing, so a running maximum forward-fills the count at the last reset.
    quotes_at_last_reset = np.maximum.accumulate(np.where(is_reset, quotes_through, 0))
    open_before = (quotes_before - quotes_at_last_reset) % 2 == 1
    return open_before | is_quote  # blank-line characters are whitespace with an even count, so outside


def inside_double_quotes(text: str) -> np.ndarray:
    codes = code_points(text)
    return _inside_toggled_quotes(codes == ord('"'), _blank_line_mask(text))


def inside_single_quotes(text: str) -> np.ndarray:
    codes = code_points(text)
    return _inside_toggled_quotes((codes == ord("'")) & ~_apostrophe_within_word(text), _blank_line_mask(text))


# --- words and sentences -------------------------------------------------------------

_APOSTROPHES = "'\u2019"  # typewriter and typographic


def _apostrophe_within_word(text: str) -> np.ndarray:
    """An apostrophe with a letter on both sides (don't, Elizabeth's), which is not a quote mark."""
    is_letter = _per_char(text, str.isalpha)
    is_apostrophe = _is_char(code_points(text), _APOSTROPHES)
    letter_before = _shifted_right(is_letter, False)
    letter_after = np.zeros_like(is_letter)
    letter_after[:-1] = is_letter[1:]
    return is_apostrophe & letter_before & letter_after


def inside_word(text: str) -> np.ndarray:
    return _per_char(text, str.isalnum) | _apostrophe_within_word(text)


def word_start(text: str) -> np.ndarray:
    return _per_char(text, str.isalnum) & ~_shifted_right(inside_word(text), False)


# A sentence end, any closing quotes/brackets, then whitespace, any opening quotes/brackets
# and the first letter; only the part after the closers is marked (group 1). Requiring
# whitespace keeps decimals (3.14) and dotted names (a.b) out.
_SENTENCE_BOUNDARY = re.compile(r"[.!?][\"'\u201d\u2019)\]]*(\s+[\"'\u201c\u2018(\[]*[^\W\d_])")


def after_sentence_end(text: str) -> np.ndarray:
    return _mark_spans(len(text), (m.span(1) for m in _SENTENCE_BOUNDARY.finditer(text)))


def uppercase(text: str) -> np.ndarray:
    return _per_char(text, str.isupper)


def digit(text: str) -> np.ndarray:
    return _per_char(text, str.isdigit)


def whitespace(text: str) -> np.ndarray:
    return _per_char(text, str.isspace)


# --- line layout ---------------------------------------------------------------------

def position_in_line(text: str) -> np.ndarray:
    codes = code_points(text)
    positions = np.arange(len(text))
    starts_line = _shifted_right(codes == ord("\n"), True)
    line_start = np.maximum.accumulate(np.where(starts_line, positions, 0))
    return (positions - line_start).astype(np.float64)


def _indentation_width(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width = (width // TAB_WIDTH + 1) * TAB_WIDTH
        else:
            break
    return width


def indentation(text: str) -> np.ndarray:
    lines = text.split("\n")
    widths = np.array([_indentation_width(line) for line in lines], dtype=np.float64)
    chars_per_line = np.array([len(line) + 1 for line in lines])  # + its newline
    chars_per_line[-1] -= 1  # the last line has no newline
    return np.repeat(widths, chars_per_line)


# --- C lexical state -----------------------------------------------------------------

CODE, LINE_COMMENT, BLOCK_COMMENT, STRING_LITERAL, CHAR_LITERAL = range(5)

# One token regex scanned left to right: whichever of these starts first wins, so a "//"
# inside a string is part of the string and a '"' inside a comment is part of the comment.
# `\\.` (with DOTALL) consumes escapes, including a backslash-newline continuation; an
# unescaped newline ends an unterminated literal, and the newline stays code.
_C_TOKEN = re.compile(
    r"""
      (?P<block_comment> /\* .*? (?:\*/|\Z) )
    | (?P<line_comment>  //[^\n]* )
    | (?P<string_literal> " (?:\\.|[^"\\\n])* (?:"|\\?\Z|(?=\n)) )
    | (?P<char_literal>   ' (?:\\.|[^'\\\n])* (?:'|\\?\Z|(?=\n)) )
    """,
    re.VERBOSE | re.DOTALL,
)
_C_TOKEN_STATE = {
    "block_comment": BLOCK_COMMENT,
    "line_comment": LINE_COMMENT,
    "string_literal": STRING_LITERAL,
    "char_literal": CHAR_LITERAL,
}


def c_lexical_state(text: str) -> np.ndarray:
    """Per character: CODE, LINE_COMMENT, BLOCK_COMMENT, STRING_LITERAL or CHAR_LITERAL (delimiters included)."""
    state = np.full(len(text), CODE, dtype=np.int8)
    for token in _C_TOKEN.finditer(text):
        state[token.start():token.end()] = _C_TOKEN_STATE[token.lastgroup]
    return state


def inside_c_comment(text: str) -> np.ndarray:
    return np.isin(c_lexical_state(text), [LINE_COMMENT, BLOCK_COMMENT])


def inside_string_literal(text: str) -> np.ndarray:
    return c_lexical_state(text) == STRING_LITERAL


def _clamped_depth(opens: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """Nesting depth per character; delimiters count as inside (an opener has the new depth, a closer the old)."""
    steps = opens.astype(np.int64) - closes
    unclamped = np.cumsum(steps)
    # Depth never goes below 0: a stray closer is ignored. The clamped walk equals the
    # unclamped one lifted by its lowest point so far (when that is negative).
    depth_after = unclamped - np.minimum(np.minimum.accumulate(unclamped), 0)
    depth_before = _shifted_right(depth_after, 0)
    return np.where(closes, depth_before, depth_after).astype(np.float64)


def _code_depth(text: str, openers: str, closers: str) -> np.ndarray:
    codes = code_points(text)
    in_code = c_lexical_state(text) == CODE
    return _clamped_depth(_is_char(codes, openers) & in_code, _is_char(codes, closers) & in_code)


def paren_depth(text: str) -> np.ndarray:
    return _code_depth(text, "(", ")")


def bracket_depth(text: str) -> np.ndarray:
    return _code_depth(text, "{[", "}]")


def brace_depth(text: str) -> np.ndarray:
    return _code_depth(text, "{", "}")


_CONDITION_OPENING = re.compile(r"(?<!\w)(?:if|while|for|switch)\s*\(")


def inside_condition(text: str) -> np.ndarray:
    state = c_lexical_state(text)
    in_code = state == CODE
    condition_parens = {m.end() - 1 for m in _CONDITION_OPENING.finditer(text) if in_code[m.start()]}
    codes = code_points(text)
    paren_positions = np.flatnonzero(in_code & _is_char(codes, "()"))

    inside = np.zeros(len(text), dtype=bool)
    open_parens: list[int] = []
    outermost_condition: int | None = None  # nested conditions lie within it, so only it is marked
    for position in paren_positions.tolist():
        if text[position] == "(":
            open_parens.append(position)
            if outermost_condition is None and position in condition_parens:
                outermost_condition = position
        elif open_parens and open_parens.pop() == outermost_condition:
            inside[outermost_condition:position + 1] = True
            outermost_condition = None
    if outermost_condition is not None:  # unclosed at the end of the text
        inside[outermost_condition:] = True
    return inside


# --- Python comments -----------------------------------------------------------------

# Strings are matched only so that a '#' inside one is skipped; triple quotes come first
# because ''' would otherwise read as an empty string followed by a quote.
_PYTHON_TOKEN = re.compile(
    r"""
      (?P<string> '''(?:\\.|[^\\])*?(?:'''|\\?\Z)
                | \"\"\"(?:\\.|[^\\])*?(?:\"\"\"|\\?\Z)
                | '(?:\\.|[^'\\\n])*(?:'|\\?\Z|(?=\n))
                | "(?:\\.|[^"\\\n])*(?:"|\\?\Z|(?=\n)) )
    | (?P<comment> \#[^\n]* )
    """,
    re.VERBOSE | re.DOTALL,
)


def inside_python_comment(text: str) -> np.ndarray:
    comments = (m.span() for m in _PYTHON_TOKEN.finditer(text) if m.lastgroup == "comment")
    return _mark_spans(len(text), comments)


# --- registry ------------------------------------------------------------------------

HYPOTHESES: dict[str, Hypothesis] = {
    hypothesis.name: hypothesis
    for hypothesis in [
        Hypothesis("inside_double_quotes", BINARY,
                   'Inside a "double-quoted" passage, quote marks included; a blank line closes any open quote.',
                   inside_double_quotes),
        Hypothesis("inside_single_quotes", BINARY,
                   "Inside a 'single-quoted' passage, ignoring apostrophes within words; a blank line closes any "
                   "open quote.",
                   inside_single_quotes),
        Hypothesis("after_sentence_end", BINARY,
                   "The whitespace after a sentence-ending . ! or ? and the first letter of the next sentence.",
                   after_sentence_end),
        Hypothesis("word_start", BINARY, "The first letter or digit of a word.", word_start),
        Hypothesis("inside_word", BINARY,
                   "A letter or digit, or an apostrophe between two letters.", inside_word),
        Hypothesis("uppercase", BINARY, "An uppercase letter.", uppercase),
        Hypothesis("digit", BINARY, "A digit.", digit),
        Hypothesis("whitespace", BINARY, "A space, tab, newline or other whitespace character.", whitespace),
        Hypothesis("position_in_line", NUMERIC,
                   "Number of characters since the start of the line (a newline gets the length of the line it ends).",
                   position_in_line),
        Hypothesis("indentation", NUMERIC,
                   "Leading spaces of the current line, tabs expanded to multiples of 8.", indentation),
        Hypothesis("inside_c_comment", BINARY,
                   "Inside a C /* block */ or // line comment, delimiters included.", inside_c_comment),
        Hypothesis("inside_python_comment", BINARY,
                   "Inside a Python # comment, which a # in a string does not start.", inside_python_comment),
        Hypothesis("inside_string_literal", BINARY,
                   'Inside a C "string literal", quotes included, outside comments and char literals.',
                   inside_string_literal),
        Hypothesis("inside_condition", BINARY,
                   "Inside the parentheses of an if, while, for or switch condition, parentheses included.",
                   inside_condition),
        Hypothesis("paren_depth", NUMERIC,
                   "Number of open ( parentheses in code, outside comments and literals.", paren_depth),
        Hypothesis("bracket_depth", NUMERIC,
                   "Number of open { braces and [ brackets together in code, outside comments and literals.",
                   bracket_depth),
        Hypothesis("brace_depth", NUMERIC,
                   "Number of open { braces in code, outside comments and literals.", brace_depth),
    ]
}


def hypothesis_values(name: str, text: str) -> np.ndarray:
    hypothesis = HYPOTHESES.get(name)
    if hypothesis is None:
        raise ValueError(f"unknown hypothesis {name!r}; valid names: {', '.join(HYPOTHESES)}")
    return hypothesis.function(text)


# --- user regular expressions --------------------------------------------------------

class RegexError(ValueError):
    """A user-supplied regular expression that cannot be used."""


class RegexTimeout(ValueError):
    """A user-supplied regular expression that ran past its time limit (catastrophic backtracking)."""


def regex_values(pattern: str, text: str, timeout_s: float = 1.0) -> np.ndarray:
    """True for every character inside a match of `pattern`; zero-length matches mark nothing."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexError(
            f"regular expression is too long ({len(pattern)} characters; the limit is {MAX_PATTERN_LENGTH})")
    try:
        compiled = regex.compile(pattern)
    except regex.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise RegexError(f"invalid regular expression: {error.msg}{where}") from None
    try:
        # The regex module's timeout covers the whole iteration, not each match.
        spans = [m.span() for m in compiled.finditer(text, timeout=timeout_s)]
    except TimeoutError:
        raise RegexTimeout(
            f"regular expression took longer than {timeout_s} s on this text; simplify it") from None
    return _mark_spans(len(text), spans)
