"""Hypotheses about characters of a text (quotes, comments, depth, ...) used to rank hidden units."""
