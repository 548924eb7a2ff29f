"""What a Grafana dashboard's PromQL asks of a node: the metric names, label matchers and grouping labels of every
query, read with a small PromQL tokenizer (strings, durations and Grafana variables are tokens of their own, so a
`{` or a name inside a string or a `[$__rate_interval]` is never taken for a selector).

`check_query` also refuses what Prometheus would: an unknown function, unbalanced brackets, a selector without a
metric name, a token PromQL does not have. A name is checked against the sample names the node writes, so
`x_bucket`, `x_sum` and `x_count` are found exactly when `x` is a histogram (and `substrate_sub_libp2p_peers_count`,
a gauge whose name happens to end in `_count`, is found as itself, not as the count of a missing histogram).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FUNCTIONS = frozenset("""
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max clamp_min cos
cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv double_exponential_smoothing
exp floor histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar
histogram_sum holt_winters hour idelta increase irate label_join label_replace last_over_time ln log10 log2
mad_over_time max_over_time min_over_time minute month pi predict_linear present_over_time quantile_over_time rad rate
resets round scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt stddev_over_time
stdvar_over_time sum_over_time tan tanh time timestamp vector year
""".split())
"""PromQL's functions (Prometheus 2.x and 3.x)."""
AGGREGATIONS = frozenset("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk "
                         "limit_ratio".split())
GROUPING = frozenset("by without on ignoring group_left group_right".split())
"""Keywords followed by a list of label names."""
KEYWORDS = frozenset("and or unless bool offset atan2 inf nan start end".split())
TARGET_LABELS = frozenset({"instance", "job"})
"""Labels Prometheus adds when it scrapes, which the node itself never writes."""

_TOKEN = re.compile(r"""
  (?P<ws>\s+)
| (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
| (?P<var>\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[^\]]*\]\])
| (?P<range>\[[^\]]*\])
| (?P<duration>\d+(?:ms|[smhdwy])(?:\d+(?:ms|[smhdwy]))*)
| (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+)
| (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
| (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}@])
""", re.VERBOSE)


class QueryError(ValueError):
    """A query Prometheus would refuse, or one this checker cannot read."""


@dataclass(frozen=True)
class Matcher:
    label: str
    op: str
    value: str
    """The string as written, unquoted (may hold Grafana variables)."""

    @property
    def templated(self) -> bool:
        return "$" in self.value


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...] = ()


@dataclass
class Query:
    selectors: list[Selector] = field(default_factory=list)
    grouping_labels: set[str] = field(default_factory=set)

    @property
    def metrics(self) -> set[str]:
        return {s.metric for s in self.selectors}


def tokenize(expr: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(expr):
        match = _TOKEN.match(expr, at)
        if match is None:
            raise QueryError(f"cannot read {expr[at:at + 20]!r} in {expr!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group()))
        at = match.end()
    return tokens


def _unquote(text: str) -> str:
    return text[1:-1]


def _matchers(tokens: list[tuple[str, str]], i: int, expr: str) -> tuple[tuple[Matcher, ...], int]:
    """The matchers of a `{...}` that starts at tokens[i]; the index after its `}`."""
    found: list[Matcher] = []
    i += 1
    while True:
        if i >= len(tokens):
            raise QueryError(f"unclosed {{ in {expr!r}")
        kind, text = tokens[i]
        if text == "}":
            return tuple(found), i + 1
        if kind != "ident" or i + 2 >= len(tokens) or tokens[i + 1][1] not in ("=", "!=", "=~", "!~") \
                or tokens[i + 2][0] != "string":
            raise QueryError(f"a label matcher must be label op \"value\" in {expr!r}")
        found.append(Matcher(text, tokens[i + 1][1], _unquote(tokens[i + 2][1])))
        i += 3
        if i < len(tokens) and tokens[i][1] == ",":
            i += 1


def check_query(expr: str) -> Query:
    """The selectors and grouping labels of a PromQL expression; QueryError if Prometheus would refuse it."""
    tokens = tokenize(expr)
    query = Query()
    depth = 0
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "(":
            depth += 1
        elif text == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"unbalanced ) in {expr!r}")
        elif text == "{":
            raise QueryError(f"a selector without a metric name in {expr!r}: name every metric a panel reads")
        elif text == "}":
            raise QueryError(f"unbalanced }} in {expr!r}")
        elif kind == "ident":
            if text in ("group_left", "group_right") and following != "(":
                i += 1  # the label list is optional after these two
                continue
            if text in GROUPING:
                if following != "(":
                    raise QueryError(f"{text} needs a list of labels in {expr!r}")
                close = next((j for j in range(i + 2, len(tokens)) if tokens[j][1] == ")"), None)
                if close is None:
                    raise QueryError(f"unclosed {text}( in {expr!r}")
                labels = [t for k, t in tokens[i + 2:close] if k == "ident"]
                if any(k not in ("ident", "op") or (k == "op" and t != ",") for k, t in tokens[i + 2:close]):
                    raise QueryError(f"{text}(...) holds label names only, in {expr!r}")
                query.grouping_labels.update(labels)
                i = close + 1
                continue
            if text in AGGREGATIONS and following in ("by", "without"):
                i += 1  # `sum by (le) (...)`: the grouping comes next
                continue
            if following == "(":
                if text not in FUNCTIONS and text not in AGGREGATIONS and text not in ("start", "end"):
                    raise QueryError(f"no PromQL function {text}() in {expr!r}")
            elif text not in KEYWORDS:
                matchers: tuple[Matcher, ...] = ()
                if following == "{":
                    matchers, after = _matchers(tokens, i + 1, expr)
                    i = after
                else:
                    i += 1
                query.selectors.append(Selector(text, matchers))
                continue
        i += 1
    if depth != 0:
        raise QueryError(f"unbalanced ( in {expr!r}")
    return query


LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?:(?P<selector>.*),\s*)?(?P<label>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")


@dataclass(frozen=True)
class DashboardQuery:
    where: str
    """Which panel or variable it is, for the failure message."""
    expr: str
    label: str | None = None
    """For a `label_values(selector, label)` variable: the label it lists."""


def get_dashboard_queries(dashboard: dict[str, Any]) -> list[DashboardQuery]:
    """Every PromQL query of a dashboard: its panels' targets (rows' collapsed panels too) and its query variables
    (`label_values(selector, label)` gives the selector and the label)."""
    found: list[DashboardQuery] = []

    def panels(items: list[dict[str, Any]]) -> None:
        for panel in items:
            panels(panel.get("panels", []))
            for target in panel.get("targets", []):
                expr = target.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    raise QueryError(f"panel {panel.get('title')!r}: target {target.get('refId')} has no expr")
                found.append(DashboardQuery(f"panel {panel.get('title')!r} {target.get('refId')}", expr))

    panels(dashboard.get("panels", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        raw = variable.get("query")
        text = raw.get("query") if isinstance(raw, dict) else raw
        match = LABEL_VALUES.match(text or "")
        if match is None:
            raise QueryError(f"variable {variable.get('name')}: only label_values(...) is read here, not {text!r}")
        if match.group("selector") is None:
            raise QueryError(f"variable {variable.get('name')}: name the metric whose labels it lists")
        found.append(DashboardQuery(f"variable {variable.get('name')}", match.group("selector"), match.group("label")))
    return found


def load_dashboard(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


SAMPLE_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


def parse_exposition(text: str) -> list[Sample]:
    """The samples of a /metrics body as Prometheus stores them: each name exactly as written."""
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_LINE.match(line)
        if match is None:
            raise ValueError(f"not a sample line: {line!r}")
        found.append(Sample(match.group(1), dict(LABEL_PAIR.findall(match.group(2) or "")), float(match.group(3))))
    return found


def find_problems(queries: list[DashboardQuery], samples: list[Sample]) -> list[str]:
    """What a dashboard's queries ask that the scraped samples do not have: a metric name; a label a matcher, a
    grouping or a variable names; a value an `=` matcher asks for (a templated value is the user's pick)."""
    by_name: dict[str, list[dict[str, str]]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s.labels)
    problems = []
    for q in queries:
        try:
            parsed = check_query(q.expr)
        except QueryError as exc:
            problems.append(f"{q.where}: {exc}")
            continue
        if not parsed.selectors:
            problems.append(f"{q.where}: names no metric: {q.expr}")
        labels_seen = set(TARGET_LABELS)
        for sel in parsed.selectors:
            series = by_name.get(sel.metric)
            if series is None:
                problems.append(f"{q.where}: the node exports no {sel.metric}")
                continue
            keys = set().union(*(set(labels) for labels in series))
            labels_seen |= keys
            for m in sel.matchers:
                if m.label in TARGET_LABELS:
                    continue
                if m.label not in keys:
                    problems.append(f"{q.where}: {sel.metric} has no label {m.label}")
                elif m.op == "=" and not m.templated and not any(lab.get(m.label) == m.value for lab in series):
                    problems.append(f'{q.where}: no {sel.metric}{{{m.label}="{m.value}"}} sample')
        for label in sorted(parsed.grouping_labels - labels_seen):
            problems.append(f"{q.where}: groups by {label}, which none of its metrics has")
        if q.label is not None and q.label not in labels_seen:
            problems.append(f"{q.where}: lists label {q.label}, which {', '.join(sorted(parsed.metrics))} lacks")
    return problems
