"""Project names: why a refused name is refused, and what a valid one looks like."""

from __future__ import annotations

import pytest

from giveaway.projects import names


@pytest.mark.parametrize("name", ["requests", "zope.interface", "a", "Django_2-x", "X1"])
def test_valid_names_have_no_problem(name):
    assert names.problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "the project name is empty"),
        ("-bad-", "'-bad-' is not a valid project name: it starts with '-'"),
        ("good.", "'good.' is not a valid project name: it ends with '.'"),
        ("bad name!", "'bad name!' is not a valid project name: it contains ' ', '!'"),
        ("naïve", "'naïve' is not a valid project name: it contains 'ï'"),
        ("x" * 201, "is not a valid project name: it is longer than 200 characters"),
    ],
)
def test_a_refused_name_says_why(name, why):
    said = names.problem(name)
    assert said is not None and why in said


def test_a_refused_name_says_what_a_valid_one_looks_like():
    said = names.problem("-bad-") or ""
    assert "only letters, digits, '.', '_' and '-'" in said
    assert "starts and ends with a letter or digit" in said
    assert "'requests'" in said
