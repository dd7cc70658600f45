import time

import numpy as np
import pytest

from app.cells.hypotheses import (
    HYPOTHESES,
    MAX_PATTERN_LENGTH,
    RegexError,
    RegexTimeout,
    hypothesis_values,
    regex_values,
)


def marked(lines: list[tuple[str, str]]) -> tuple[str, np.ndarray]:
    """Text and expected bool array from (line, mask) pairs; '^' marks True.

    Each mask but the last has one more character than its line: the value of the newline.
    """
    for line, mask in lines[:-1]:
        assert len(mask) == len(line) + 1, (line, mask)
    assert len(lines[-1][1]) == len(lines[-1][0]), lines[-1]
    text = "\n".join(line for line, _ in lines)
    expected = np.array([c == "^" for c in "".join(mask for _, mask in lines)])
    return text, expected


def assert_marks(name: str, lines: list[tuple[str, str]]) -> None:
    text, expected = marked(lines)
    actual = hypothesis_values(name, text)
    assert actual.dtype == np.bool_
    shown = "".join("^" if v else "." for v in actual)
    assert np.array_equal(actual, expected), f"\n{text!r}\n{shown}"


def assert_values(name: str, text: str, expected: list[int]) -> None:
    actual = hypothesis_values(name, text)
    assert actual.dtype == np.float64
    assert actual.tolist() == expected


# --- double and single quotes ----------------------------------------------------------

def test_double_quotes_include_both_quote_marks():
    assert_marks("inside_double_quotes", [
        ('a "bc" d', '..^^^^..'),
    ])


def test_double_quotes_span_lines():
    assert_marks("inside_double_quotes", [
        ('He said "Hi', '........^^^^'),
        ('there" ok', '^^^^^^...'),
    ])


def test_double_quotes_reset_at_blank_line_for_speech_spanning_paragraphs():
    # The first paragraph's quote is never closed; the second paragraph reopens it.
    assert_marks("inside_double_quotes", [
        ('"First part', '^^^^^^^^^^^^'),
        ('', '.'),
        ('"Second" said he', '^^^^^^^^........'),
    ])


def test_double_quotes_reset_at_whitespace_only_line():
    assert_marks("inside_double_quotes", [
        ('"a', '^^^'),
        ('  \t', '....'),
        ('"b" c', '^^^..'),
    ])


def test_single_quotes_ignore_apostrophes_within_words():
    assert_marks("inside_single_quotes", [
        ("She said 'don't' to Elizabeth's 'x'", ".........^^^^^^^................^^^"),
    ])


def test_single_quotes_reset_at_blank_line():
    assert_marks("inside_single_quotes", [
        ("'Open", "^^^^^^"),
        ("", "."),
        ("'Again' it's", "^^^^^^^....."),
    ])


# --- C comments and string literals -------------------------------------------------------

def test_c_block_comment_includes_delimiters_and_its_quotes():
    assert_marks("inside_c_comment", [
        ('a /* "x */ b "y"', '..^^^^^^^^......'),
    ])


def test_quote_inside_c_comment_does_not_start_string():
    assert_marks("inside_string_literal", [
        ('a /* "x */ b "y"', '.............^^^'),
    ])


def test_c_line_comment_stops_before_newline():
    assert_marks("inside_c_comment", [
        ('x; // note "', '...^^^^^^^^^.'),
        ('y;', '..'),
    ])


def test_comment_markers_inside_string_literal_do_not_start_comments():
    assert_marks("inside_c_comment", [
        ('p = "http://x/*"; q; // c', '.....................^^^^'),
    ])


def test_comment_markers_and_quotes_inside_char_literals_are_ignored():
    assert_marks("inside_c_comment", [
        (r"""c = '/'; d = '"'; e = '\''; /* f */""", '............................^^^^^^^'),
    ])


def test_unterminated_c_block_comment_runs_to_end_of_text():
    assert_marks("inside_c_comment", [
        ("a /* b", "..^^^^^"),
        ("c", "^"),
    ])


def test_string_literal_honours_escaped_quote():
    assert_marks("inside_string_literal", [
        (r'a "b\"c" d', '..^^^^^^..'),
    ])


def test_string_literal_skips_char_literal_holding_a_quote():
    assert_marks("inside_string_literal", [
        (r"""c = '"'; s = "t\\";""", '.............^^^^^.'),
    ])


def test_string_literal_ends_at_unescaped_newline():
    assert_marks("inside_string_literal", [
        ('x = "abc', '....^^^^.'),
        ('y = "z";', '....^^^.'),
    ])


def test_string_literal_continues_after_backslash_newline():
    assert_marks("inside_string_literal", [
        ('x = "ab\\', '....^^^^^'),
        ('cd"; y', '^^^...'),
    ])


# --- Python comments ----------------------------------------------------------------------

def test_python_hash_inside_strings_does_not_start_comment():
    assert_marks("inside_python_comment", [
        (r"""x = "#" + 'it\'s # no' # yes""", '.......................^^^^^'),
    ])


def test_python_hash_inside_triple_quoted_string_does_not_start_comment():
    assert_marks("inside_python_comment", [
        ('s = """', '........'),
        ('# not a comment "', '..................'),
        ('"""  # comment', '.....^^^^^^^^^'),
    ])


# --- depths -------------------------------------------------------------------------------

def test_paren_depth_counts_parens_as_inside_and_never_goes_negative():
    assert_values("paren_depth", "f(a(b)) ) (x", [0, 1, 1, 2, 2, 2, 1, 0, 0, 0, 1, 1])


def test_paren_depth_ignores_parens_in_strings_comments_and_char_literals():
    text = "g(\"(\", ')', /*(*/ x) // ("
    expected = [0, 1] + [1] * 17 + [1] + [0] * 5  # the ) closing g( still has depth 1
    assert len(expected) == len(text)
    assert_values("paren_depth", text, expected)


def test_bracket_depth_combines_braces_and_square_brackets():
    assert_values("bracket_depth", 'x[{y}] "]" }', [0, 1, 2, 2, 2, 1, 0, 0, 0, 0, 0, 0])


def test_brace_depth_counts_braces_only():
    assert_values("brace_depth", "x[{y}] { '}' z", [0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1])


# --- conditions ---------------------------------------------------------------------------

def test_condition_includes_nested_parens_and_both_delimiters():
    assert_marks("inside_condition", [
        ("if (a(b) && c) d(e);", "...^^^^^^^^^^^......"),
    ])


def test_condition_keyword_must_be_a_whole_word():
    assert_marks("inside_condition", [
        ("iffy(x); x_if(y); for(;;)", ".....................^^^^"),
    ])


def test_condition_allows_whitespace_and_lines_before_and_inside_parens():
    assert_marks("inside_condition", [
        ("} else if  (p &&", "...........^^^^^^"),
        (" q) while\t(r)", "^^^.......^^^"),
    ])


def test_condition_keywords_in_strings_and_comments_are_ignored():
    assert_marks("inside_condition", [
        ('s = "if (x)"; /* while (y) */ switch (z)', '.....................................^^^'),
    ])


# --- line layout --------------------------------------------------------------------------

def test_position_in_line_gives_newline_the_line_length():
    assert_values("position_in_line", "ab\ncde\n\nf", [0, 1, 2, 0, 1, 2, 3, 0, 0])


def test_indentation_expands_tabs_to_next_multiple_of_eight():
    text = "  a\n\tb\n   \tc\n" + " " * 9 + "\td\ne"
    expected = [2] * 4 + [8] * 3 + [8] * 6 + [16] * 12 + [0]
    assert len(expected) == len(text)
    assert_values("indentation", text, expected)


# --- words and sentences ------------------------------------------------------------------

def test_word_start_skips_letters_after_an_apostrophe_within_a_word():
    assert_marks("word_start", [
        ("don't 42x 'em'", "^.....^....^.."),
    ])


def test_inside_word_includes_apostrophes_between_letters_only():
    assert_marks("inside_word", [
        ("don't 42x 'em'", "^^^^^.^^^..^^."),
    ])


def test_after_sentence_end_marks_spaces_and_first_letter_after_closers():
    assert_marks("after_sentence_end", [
        ('Hi. there! "Yes." (No.) 3.14 end?', '...^^.....^^^....^^^.............^'),
        ('', '^'),
        ('"And" ok... Go', '^^.........^^.'),
    ])


def test_uppercase_per_character():
    assert_marks("uppercase", [("aB1 É", ".^..^")])


def test_digit_per_character():
    assert_marks("digit", [("a1 ²9", ".^.^^")])


def test_whitespace_per_character():
    assert_marks("whitespace", [(" a\tb", "^.^.^"), ("c", ".")])


# --- registry -----------------------------------------------------------------------------

def test_registry_names_and_value_types():
    assert {name: hypothesis.value_type for name, hypothesis in HYPOTHESES.items()} == {
        "inside_double_quotes": "binary",
        "inside_single_quotes": "binary",
        "after_sentence_end": "binary",
        "word_start": "binary",
        "inside_word": "binary",
        "uppercase": "binary",
        "digit": "binary",
        "whitespace": "binary",
        "position_in_line": "numeric",
        "indentation": "numeric",
        "inside_c_comment": "binary",
        "inside_python_comment": "binary",
        "inside_string_literal": "binary",
        "inside_condition": "binary",
        "paren_depth": "numeric",
        "bracket_depth": "numeric",
        "brace_depth": "numeric",
    }
    assert all(name == hypothesis.name for name, hypothesis in HYPOTHESES.items())


@pytest.mark.parametrize("name", list(HYPOTHESES))
def test_every_hypothesis_has_one_value_per_unicode_character(name):
    text = "naïve “x” 日本\n\t'a' \"b\" (c) {d} /* é */ // ü\n# 🙂 if (ß) {"
    values = hypothesis_values(name, text)
    assert values.shape == (len(text),)
    assert values.dtype == (np.bool_ if HYPOTHESES[name].value_type == "binary" else np.float64)


@pytest.mark.parametrize("name", list(HYPOTHESES))
def test_every_hypothesis_accepts_empty_text(name):
    assert hypothesis_values(name, "").shape == (0,)


def test_unknown_hypothesis_raises_value_error_listing_valid_names():
    with pytest.raises(ValueError, match=r"unknown hypothesis 'nope'; valid names: inside_double_quotes, .*brace_depth$"):
        hypothesis_values("nope", "text")


# --- regular expressions ------------------------------------------------------------------

def test_regex_marks_characters_inside_matches():
    assert regex_values(r"b+|d", "abbcd").tolist() == [False, True, True, False, True]


def test_regex_zero_length_matches_mark_nothing():
    assert regex_values(r"\b|x*", "ab cd").tolist() == [False] * 5


def test_invalid_regex_raises_regex_error_with_position():
    with pytest.raises(RegexError, match=r"^invalid regular expression: missing \) at position 3$"):
        regex_values("a(b", "abc")


def test_regex_pattern_longer_than_limit_is_rejected():
    regex_values("a" * MAX_PATTERN_LENGTH, "a")  # at the limit: fine
    with pytest.raises(RegexError, match=r"too long \(1001 characters; the limit is 1000\)"):
        regex_values("a" * (MAX_PATTERN_LENGTH + 1), "a")


def test_catastrophic_regex_times_out_quickly():
    # (a+)+$ is optimised by the regex module, so an ambiguous alternation stands in for it.
    started = time.perf_counter()
    with pytest.raises(RegexTimeout, match=r"^regular expression took longer than 0\.2 s on this text; simplify it$"):
        regex_values(r"(a|aa)+$", "a" * 40 + "b", timeout_s=0.2)
    assert time.perf_counter() - started < 1.0
