"""Variable references in templates and selectors, and the public surface."""

from __future__ import annotations

import inspect

import pytest

import workflows
from workflows._variables import (
    Reference,
    compile_template,
    parse_selector,
    render,
    resolve,
    simple_segments,
    template_references,
)

POOL = {"http": {"body": {"items": [{"name": "a"}, {"name": "b"}], "keys": 2}}, "sys": {"run_id": "r1"}}


@pytest.mark.parametrize(
    ("selector", "value"),
    [
        ("http.body.items.1.name", "b"),
        ("{{ http.body.keys }}", 2),
        ("http.body.items.-1.name", "b"),
        ("http.body.missing.x", None),
        ("nope.x", None),
        ("sys.run_id", "r1"),
    ],
)
def test_selectors_resolve_paths_through_dicts_and_lists(selector: str, value: object) -> None:
    assert resolve(POOL, selector) == value


@pytest.mark.parametrize("selector", ["", "a..b", "1abc.x", "a b"])
def test_malformed_selectors_are_rejected(selector: str) -> None:
    with pytest.raises(ValueError, match="not a variable selector"):
        parse_selector(selector)


def test_templates_prefer_keys_over_dict_methods_and_index_lists() -> None:
    assert render("{{ http.body.items.0.name }}/{{ http.body.keys }}", POOL) == "a/2"


def test_missing_values_render_empty_instead_of_failing() -> None:
    assert render("[{{ ghost.deep.path }}]", POOL) == "[]"


def test_template_references_ignore_names_the_template_binds() -> None:
    source = "{% set n = 1 %}{% for i in http.body.items %}"
    source += "{{ i.name }}{{ loop.index }}{% endfor %}{{ sys.run_id }}"
    source = source.replace("{% set n = 1 %}", "{% set n = 1 %}{{ n }}")
    assert template_references(source) == (Reference("http", "body", ("items",)), Reference("sys", "run_id"))


def test_compiled_templates_are_cached_across_calls() -> None:
    assert compile_template("{{ sys.run_id }}!") is compile_template("{{ sys.run_id }}!")


@pytest.mark.parametrize(
    ("source", "segments"),
    [
        ("Hi {{ llm.text }}!", (("text", "Hi "), ("ref", "llm.text"), ("text", "!"))),
        ("{{ a.b | upper }}", None),
        ("{% if x %}y{% endif %}", None),
    ],
)
def test_simple_templates_split_into_streamable_segments(source: str, segments: object) -> None:
    assert simple_segments(source) == segments


def test_every_public_symbol_is_documented() -> None:
    undocumented = [
        name
        for name in workflows.__all__
        if (inspect.isclass(obj := getattr(workflows, name)) or inspect.isfunction(obj))
        and not inspect.getdoc(obj)
    ]
    assert undocumented == []


@pytest.mark.parametrize("index", ["²", "\u0661", "-²"])
def test_a_non_ascii_digit_is_not_a_list_index(index: str) -> None:
    # "²".isdigit() is true and int("²") raises: such a part must read as missing, not crash the render.
    assert resolve({"a": {"items": [1, 2, 3]}}, f"a.items.{index}", "none") == "none"
