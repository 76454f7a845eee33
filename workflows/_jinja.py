"""A Jinja2 sandbox whose renders are bounded in time, iterations and the size of what they build.

Jinja's sandbox stops attribute tricks, not work: ``{% for a in range(100000) %}{% for b in range(100000) %}``
runs for hours and ``{{ 'x' * 10**9 }}`` allocates a gigabyte. Every render here carries a budget
(``TemplateLimits``), charged at each place a template can spend without bound:

- every loop iteration and every call (functions, methods, macros, ``loop()`` recursion) is a step; a render
  stops past ``max_iterations`` steps or ``max_seconds`` (the clock is read every few steps);
- every piece of output, wherever it goes (the result, a ``{% set %}`` block, a macro body), and every string
  built by ``~``, ``+`` or ``%`` counts towards ``max_output_chars``;
- operations whose result can outgrow their inputs in one step (``*``, ``**``, padding, ``replace``,
  ``join``, ``indent``, ``wordwrap``, format widths) are checked *before* they run;
- a value's size is its *weight*: the characters and items it holds, counting a list shared n times n times
  (what ``str()`` would print). ``[[1] * 10**6] * 10**6`` holds two million references but prints
  a trillion items; list, tuple and dict literals and every computed value are weighed, so no value a template
  can build prints more than ``max_output_chars`` (weights are remembered per render: shared parts are
  weighed once);
- ``sum`` adds numbers only (``sum(start=[])`` would concatenate lists in quadratic time).

The loop and output charges are inserted into the parsed template (a filter around each ``for`` iterable,
each output expression and each ``~``), so they hold for any template this environment compiles. The
engine's templates and the platform's prompt templates both use this environment class: one set of rules.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from numbers import Number
from typing import Any, TypeGuard

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum, pass_context

_LOOP, _OUT, _SIZE = "budget:loop", "budget:out", "budget:size"  # names no template can write
_MAX_INT_BITS = 65_536
_CLOCK_EVERY = 16  # steps between reads of the clock
_BLOCKED_STR_METHODS = frozenset({"translate", "maketrans"})  # mappings expand without a checkable bound
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_PRINTF = re.compile(r"%[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]")
_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """What one template render may spend: characters built, loop iterations plus calls, and seconds."""

    max_output_chars: int = 5_000_000
    max_iterations: int = 1_000_000
    max_seconds: float = 5.0


class TemplateLimitError(SecurityError):
    """A render went past its ``TemplateLimits`` (a ``SecurityError``: the sandbox refused to go on)."""


class _Budget:
    __slots__ = ("deadline", "limits", "output", "steps", "weights")

    def __init__(self, limits: TemplateLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.steps = 0
        self.output = 0
        # id -> (the container, kept alive so its id is not reused; its weight)
        self.weights: dict[int, tuple[Any, int]] = {}

    def step(self) -> None:
        self.steps += 1
        if self.steps > self.limits.max_iterations:
            raise TemplateLimitError(
                f"the template ran more than {self.limits.max_iterations} loop iterations and calls"
            )
        if self.steps % _CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise TemplateLimitError(f"the template ran longer than {self.limits.max_seconds:g}s")

    def emit(self, size: int) -> None:
        self.output += size
        if self.output > self.limits.max_output_chars:
            raise TemplateLimitError(
                f"the template produced more than {self.limits.max_output_chars} characters"
            )

    def check_size(self, size: int, what: str = "a value") -> None:
        if size > self.limits.max_output_chars:
            raise TemplateLimitError(
                f"the template built {what} of {size} items or characters "
                f"(at most {self.limits.max_output_chars})"
            )


_BUDGET: ContextVar[_Budget | None] = ContextVar("workflows_template_budget", default=None)
_DEFAULT = TemplateLimits()


def _current() -> _Budget:
    # Outside ``bounded`` (a template used by hand) each check gets a fresh default budget: sizes are still
    # capped, steps and time only per call.
    return _BUDGET.get() or _Budget(_DEFAULT)


@contextmanager
def bounded(limits: TemplateLimits | None) -> Iterator[None]:
    """Charge every template render inside the block to one fresh budget of ``limits``."""
    token = _BUDGET.set(_Budget(limits or _DEFAULT))
    try:
        yield
    finally:
        _BUDGET.reset(token)


_CONTAINERS = (list, tuple, dict, set, frozenset)


def _weight(value: Any, budget: _Budget) -> int:
    """Characters and items ``value`` holds, a part shared n times counted n times; past the limit it raises."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, _CONTAINERS):
        return 1
    known = budget.weights.get(id(value))
    if known is not None and known[0] is value:
        return known[1]
    total = len(value)
    for item in itertools.chain.from_iterable(value.items()) if isinstance(value, dict) else value:
        total += _weight(item, budget)
        budget.check_size(total, "a nested value")
    budget.weights[id(value)] = (value, total)
    return total


def _sized(value: Any) -> Any:
    if isinstance(value, str):
        _current().check_size(len(value))
    elif isinstance(value, _CONTAINERS):
        budget = _current()
        budget.check_size(_weight(value, budget))
    elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise TemplateLimitError(f"the template built an integer over {_MAX_INT_BITS} bits")
    return value


def _check_int_args(args: Iterable[Any]) -> None:
    budget = _current()
    cap = min(budget.limits.max_output_chars, budget.limits.max_iterations)
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > cap:
            raise TemplateLimitError(f"an argument of {arg} is over the template limit of {cap}")


def _check_printf(spec: str) -> None:
    for match in _PRINTF.finditer(spec):
        for number in match.groups():
            if number == "*":
                raise TemplateLimitError("'*' widths are not allowed in templates")
            if number:
                _check_int_args([int(number)])


def _check_format(spec: str) -> None:
    for field in _FORMAT_FIELD.findall(spec):
        _check_int_args(int(digits) for digits in re.findall(r"\d+", field))


def _check_replace(subject: Any, old: Any, new: Any) -> None:
    if isinstance(subject, str) and isinstance(old, str) and isinstance(new, str):
        count = len(subject) + 1 if old == "" else subject.count(old)
        _current().check_size(len(subject) + count * (len(new) - len(old)), "a replaced string")


def _joined(items: Iterable[Any], separator: Any) -> list[Any]:
    listed = list(items)
    budget = _current()
    size = sum(_weight(item, budget) for item in listed)
    budget.check_size(size + len(str(separator)) * max(len(listed) - 1, 0), "a joined string")
    return listed


def _lines(value: Any) -> int:
    return str(value).count("\n") + 1


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    _check_int_args([*args, *kwargs.values()])
    budget = _current()
    if name == "replace" and len(args) >= 2:
        _check_replace(str(value), args[0], args[1])
    elif name == "format":
        _check_printf(str(value))
    elif name == "sum":
        start = kwargs.get("start", args[1] if len(args) > 1 else 0)
        if not isinstance(start, Number):
            raise TemplateLimitError("sum() adds numbers only: join strings with join, lists with a loop")
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        per_line = len(width) if isinstance(width, str) else int(width)
        budget.check_size(len(str(value)) + per_line * _lines(value), "an indented string")
    elif name == "wordwrap":
        width = max(int(args[0] if args else kwargs.get("width", 79)), 1)
        wrap = kwargs.get("wrapstring", args[2] if len(args) > 2 else "\n")
        breaks = len(str(value)) // width + _lines(value)
        budget.check_size(len(str(value)) + breaks * len(str(wrap or "\n")), "a wrapped string")
    else:  # any other filter given a long string argument must not repeat it per character of its input
        longest = max((len(a) for a in (*args, *kwargs.values()) if isinstance(a, str)), default=0)
        if longest > 1000 and isinstance(value, str):
            budget.check_size(len(value) * longest, "a filtered string")


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Filters are called directly by compiled templates (not through ``call``), so each one is wrapped;
    # ``wraps`` keeps the ``jinja_pass_arg`` marker that tells Jinja what to pass first.
    passes_first = getattr(func, "jinja_pass_arg", None) is not None

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        head, rest = (args[:2], args[2:]) if passes_first else (args[:1], args[1:])
        value = head[-1] if head else None
        budget = _current()
        budget.step()
        _check_filter(name, value, rest, kwargs)
        if name == "join" and head:
            separator = rest[0] if rest else kwargs.get("d", "")
            args = (*head[:-1], _joined(head[-1], separator), *rest)
        return _sized(func(*args, **kwargs))

    return run


@pass_context
def _loop_items(context: Context, iterable: Any) -> Iterator[Any]:
    budget = _current()
    for item in iterable:
        budget.step()
        yield item


@pass_context
def _output(context: Context, value: Any) -> Any:
    if isinstance(value, str):
        _current().emit(len(value))
        return value
    finalize = context.environment.finalize
    text = str(finalize(value) if finalize else value)
    _current().emit(len(text))
    return text


@pass_context
def _size_checked(context: Context, value: Any) -> Any:
    return _sized(value)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    # Jinja's lipsum builds n paragraphs of up to max words in one call: a million of them would be one step.
    if n > 100 or max > 1000:
        raise TemplateLimitError("lipsum() makes at most 100 paragraphs of at most 1000 words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


def _filter(node: nodes.Node, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


def _built(node: Any) -> TypeGuard[nodes.Expr]:
    """A ``~`` or a list, tuple or dict literal (not an assignment target such as ``for a, b in``)."""
    if isinstance(node, nodes.Tuple):
        return node.ctx == "load"
    return isinstance(node, nodes.Concat | nodes.List | nodes.Dict)


def _charge(tree: nodes.Template) -> nodes.Template:
    """Wrap each ``~`` result and literal, loop iterable and output expression in the charging filters."""
    for node in list(tree.find_all(nodes.Node)):
        for field in node.fields:
            value = getattr(node, field, None)
            if _built(value):
                setattr(node, field, _filter(value, _SIZE))
            elif isinstance(value, list) and any(_built(v) for v in value):
                setattr(node, field, [_filter(v, _SIZE) if _built(v) else v for v in value])
    for loop in tree.find_all(nodes.For):
        loop.iter = _filter(loop.iter, _LOOP)
    for output in tree.find_all(nodes.Output):
        output.nodes = [_charged_output(n) for n in output.nodes]
    return tree


def _charged_output(node: nodes.Expr) -> nodes.Expr:
    if isinstance(node, nodes.TemplateData):  # literal text: a constant, charged like any output
        node = nodes.Const(node.data, lineno=node.lineno)
    return _filter(node, _OUT)


class BoundedTemplate(jinja2.Template):
    """A template whose ``render`` runs within the default ``TemplateLimits`` (or the active budget)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render like ``jinja2.Template.render``, charged to a budget."""
        budget = _BUDGET.get()
        return render_bounded(self, dict(*args, **kwargs), budget.limits if budget else None)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """``ImmutableSandboxedEnvironment`` whose renders are charged to the active ``bounded`` budget.

    Render with ``render_bounded`` (or inside ``with bounded(limits):``); a render outside any budget gets
    the default ``TemplateLimits``. Exceeding a limit raises ``TemplateLimitError``.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = BoundedTemplate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(name, func) for name, func in self.filters.items()}
        self.filters.update({_LOOP: _loop_items, _OUT: _output, _SIZE: _size_checked})
        self.globals["lipsum"] = _lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every compile and every parse goes through here: no template escapes the charging filters.
        return _charge(super()._parse(source, name, filename))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Also refuses the ``str`` methods whose output size cannot be checked beforehand."""
        if isinstance(obj, str) and attr in _BLOCKED_STR_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` (looked up before ``is_safe_attribute``): widths in the string are capped first."""
        owner = getattr(value, "__self__", None)
        if isinstance(owner, str) and getattr(value, "__name__", "") in ("format", "format_map"):
            _check_format(owner)
        return super().wrap_str_format(value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """``*`` and ``**`` are checked before they run, ``+`` and ``%`` after (and ``%``'s widths before)."""
        if operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_printf(left)
        return _sized(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call is a step; padding, ``replace`` and ``join`` are checked before they run."""
        _current().step()
        _check_int_args([*args, *kwargs.values()])
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and name == "replace" and len(args) >= 2:
            _check_replace(owner, args[0], args[1])
        elif isinstance(owner, str) and name == "join" and args:
            args = (_joined(args[0], owner), *args[1:])
        elif isinstance(owner, str) and name in _PADDING_METHODS:
            pass  # the integer arguments are already capped
        return _sized(super().call(__context, __obj, *args, **kwargs))


def _check_product(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int):
            budget = _current()
            budget.check_size(_weight(seq, budget) * max(times, 0), "a repeated value")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > _MAX_INT_BITS
    ):
        raise TemplateLimitError(f"the template built an integer over {_MAX_INT_BITS} bits")


def _check_power(base: Any, exponent: Any) -> None:
    growing = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0
    if growing and base.bit_length() * exponent > _MAX_INT_BITS:
        raise TemplateLimitError(f"the template built an integer over {_MAX_INT_BITS} bits")


def render_bounded(
    template: jinja2.Template, context: Context | Mapping[str, Any], limits: TemplateLimits | None
) -> str:
    """Render ``template`` (with a prepared ``Context``, or a mapping of variables) within ``limits``."""
    with bounded(limits):
        if not isinstance(context, Context):
            context = template.new_context(dict(context))
        try:
            return "".join(template.root_render_func(context))
        except RecursionError:
            raise TemplateLimitError("the template recursed too deeply") from None
