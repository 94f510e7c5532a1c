"""Draw a persona as a graph (``understudy graph PERSONA --format mermaid|dot``).

Topics are boxes; a rule that moves to another topic (``goto``) is an arrow labelled with its id. Global rules
start from one "any topic" node in their own cluster. Facts are notes, joined by a dotted arrow from the topic
(or the global cluster) whose rule discloses them. Endings, and rules or fallbacks that end the interview,
point to end nodes. Rules that neither move, disclose nor end are left out to keep the drawing readable.

Both renderers build the same intermediate graph, then escape labels for their format: Mermaid labels are
quoted, with numeric entity codes for ``" # < > |`` and backticks; DOT labels are quoted, ``\\`` and ``"``
escaped. Node ids are generated (``t0``, ``f0``...), never taken from the persona, so no id needs escaping
(Mermaid reserves words such as ``end``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.persona.model import Condition, Effects, Persona

NodeKind = Literal["start", "topic", "global", "fact", "ending", "end"]
EdgeStyle = Literal["solid", "dotted"]

START = "n_start"
GLOBAL = "n_global"
END = "n_end"
MAX_LABEL = 60


@dataclass
class _Node:
    id: str
    label: str
    kind: NodeKind


@dataclass
class _Edge:
    src: str
    dst: str
    label: str
    style: EdgeStyle = "solid"


@dataclass
class _Graph:
    nodes: dict[str, _Node] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)

    def node(self, node_id: str, label: str, kind: NodeKind) -> str:
        self.nodes.setdefault(node_id, _Node(node_id, label, kind))
        return node_id


def _condition_text(cond: Condition) -> str:
    parts = [
        f"{name} {value}" if isinstance(value, str) else f"{name} == {value}"
        for name, value in cond.vars.items()
    ]
    parts += [f"disclosed {f}" for f in cond.disclosed]
    parts += [f"not disclosed {f}" for f in cond.not_disclosed]
    if cond.topic:
        parts.append("topic " + "/".join(cond.topic))
    if cond.fired is not None:
        parts.append(f"fired {cond.fired}")
    if cond.turn is not None:
        parts.append(f"turn {cond.turn}")
    return ", ".join(parts)


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 3] + "..."


def _build(persona: Persona) -> _Graph:
    g = _Graph()
    topic_ids = {name: f"t{i}" for i, name in enumerate(persona.topics)}
    fact_ids = {fact.id: f"f{i}" for i, fact in enumerate(persona.facts)}
    g.node(START, "start", "start")
    for name, tid in topic_ids.items():
        g.node(tid, name, "topic")
    if persona.start_topic in topic_ids:
        g.edges.append(_Edge(START, topic_ids[persona.start_topic], ""))

    def effects(src: str, label: str, cond: Condition, eff: Effects) -> None:
        when = _condition_text(cond)
        text = f"{label} [{_short(when)}]" if when else label
        if eff.goto is not None and eff.goto in topic_ids:
            g.edges.append(_Edge(src, topic_ids[eff.goto], text))
        for fact in eff.disclose:
            if fact in fact_ids:
                g.node(fact_ids[fact], f"fact: {fact}", "fact")
                g.edges.append(_Edge(src, fact_ids[fact], text, "dotted"))
        if eff.end:
            g.node(END, "end", "end")
            g.edges.append(_Edge(src, END, text))

    if persona.rules or persona.fallbacks:
        count = len(persona.rules)
        g.node(GLOBAL, f"any topic: {count} global rule{'' if count == 1 else 's'}", "global")
    for rule in persona.rules:
        effects(GLOBAL, rule.id, rule.if_, rule.effects)
    for i, fb in enumerate(persona.fallbacks):
        effects(GLOBAL, f"fallback L{fb.level} #{i + 1}", fb.if_, fb.effects)
    for name, topic in persona.topics.items():
        for rule in topic.rules:
            effects(topic_ids[name], rule.id, rule.if_, rule.effects)
        for i, fb in enumerate(topic.fallbacks):
            effects(topic_ids[name], f"fallback L{fb.level} #{i + 1}", fb.if_, fb.effects)
    for i, ending in enumerate(persona.endings):
        eid = g.node(f"e{i}", f"ending: {ending.id} ({ending.reason})", "ending")
        g.node(END, "end", "end")
        g.edges.append(_Edge(eid, END, _short(_condition_text(ending.if_))))
    return g


# --- Mermaid ------------------------------------------------------------------------------------------------

_MERMAID_ENTITIES = {"#": "#35;", '"': "#34;", "<": "#60;", ">": "#62;", "|": "#124;", "`": "#96;"}


def mermaid_escape(text: str) -> str:
    """Escape text for a quoted Mermaid label (entity codes; '#' first so codes are not escaped twice)."""
    out = "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text)
    return " ".join(out.split())


_MERMAID_SHAPES = {
    "start": ("((", "))"),
    "topic": ("[", "]"),
    "global": ("([", "])"),
    "fact": ("[/", "/]"),
    "ending": ("{{", "}}"),
    "end": ("(((", ")))"),
}


def to_mermaid(persona: Persona) -> str:
    """Return a Mermaid flowchart of the persona's topics, rules, disclosed facts and endings."""
    g = _build(persona)
    lines = ["flowchart LR"]
    for node in g.nodes.values():
        if node.kind == "global":
            continue
        left, right = _MERMAID_SHAPES[node.kind]
        lines.append(f'    {node.id}{left}"{mermaid_escape(node.label)}"{right}')
    if GLOBAL in g.nodes:
        left, right = _MERMAID_SHAPES["global"]
        lines.append('    subgraph global_cluster["global rules"]')
        lines.append(f'        {GLOBAL}{left}"{mermaid_escape(g.nodes[GLOBAL].label)}"{right}')
        lines.append("    end")
    for edge in g.edges:
        arrow = "-.->" if edge.style == "dotted" else "-->"
        label = f'|"{mermaid_escape(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.src} {arrow}{label} {edge.dst}")
    return "\n".join(lines) + "\n"


# --- Graphviz DOT -------------------------------------------------------------------------------------------

_DOT_SHAPES = {
    "start": "circle",
    "topic": "box",
    "global": "box",
    "fact": "note",
    "ending": "doubleoctagon",
    "end": "doublecircle",
}


def dot_escape(text: str) -> str:
    """Escape text for a double-quoted DOT string."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    return out.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def to_dot(persona: Persona) -> str:
    """Return a Graphviz DOT digraph of the persona's topics, rules, disclosed facts and endings."""
    g = _build(persona)
    lines = [f'digraph "{dot_escape(persona.id)}" {{', "    rankdir=LR;", '    node [fontname="Helvetica"];']
    for node in g.nodes.values():
        if node.kind == "global":
            continue
        lines.append(f'    {node.id} [label="{dot_escape(node.label)}", shape={_DOT_SHAPES[node.kind]}];')
    if GLOBAL in g.nodes:
        lines.append("    subgraph cluster_global {")
        lines.append('        label="global rules";')
        lines.append("        style=dashed;")
        lines.append(
            f'        {GLOBAL} [label="{dot_escape(g.nodes[GLOBAL].label)}", shape=box, style=rounded];'
        )
        lines.append("    }")
    for edge in g.edges:
        attrs = [f'label="{dot_escape(edge.label)}"'] if edge.label else []
        if edge.style == "dotted":
            attrs.append("style=dotted")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {edge.src} -> {edge.dst}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"
