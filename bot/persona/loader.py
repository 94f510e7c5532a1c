"""Read a persona YAML file into a validated :class:`~bot.persona.model.Persona`, every error with a line.

The pipeline is: bytes (size cap, binary and UTF-8 checks) -> YAML events (libyaml when available) -> a node
tree composed here with caps on nesting depth and alias use -> plain Python data built node by node, recording
the line and column of every key and item -> pydantic models -> static checks (:mod:`bot.persona.lint`).

Only plain data is read: mappings, lists, text, numbers, true/false and null. Any other tag
(``!!python/object``, ``!!binary``, local ``!tags``) is refused. ``yes``/``no``/``on``/``off`` stay text
(YAML 1.2 booleans), so a reply "no" is not silently turned into ``false``; a timestamp-like value stays text.

A persona's version is the first :data:`VERSION_CHARS` hex characters of the SHA-256 of the file's bytes.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from bot.errors import PersonaError
from bot.persona import lint
from bot.persona.lint import Diagnostic, Loc, Positions
from bot.persona.model import Persona, json_schema

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 40
MAX_ALIASES = 1000
MAX_VALUES = 100_000
VERSION_CHARS = 16
# Relative to the working directory, like the default personas directory (`make schema` runs from the root).
SCHEMA_PATH = Path("personas") / "persona.schema.json"
SUGGEST_CUTOFF = 0.6
MAX_OPTIONS_LISTED = 4

_TAG_PREFIX = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (_TAG_PREFIX + t for t in ("str", "int", "float", "bool", "null"))
_SEQ, _MAP, _MERGE = _TAG_PREFIX + "seq", _TAG_PREFIX + "map", _TAG_PREFIX + "merge"
# Implicitly resolved tags we read back as the text that was written.
_AS_TEXT = {_STR, _TAG_PREFIX + "timestamp", _TAG_PREFIX + "value"}
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = "\ufeff"
# Characters YAML does not allow in a stream: C0/C1 controls except tab, newlines and NEL; surrogates;
# non-characters.
_BAD_CHAR_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")

_TAB_HINT = "tabs cannot indent YAML; use spaces"
_SYNTAX_HINTS = {
    "found character '\\t' that cannot start any token": _TAB_HINT,
    "found a tab character where an indentation space is expected": _TAB_HINT,
    "found a tab character that violates indentation": _TAB_HINT,
}


class _Refused(Exception):
    """Raised inside composition to stop at once; carries a message and a YAML mark."""

    def __init__(self, message: str, mark: Any) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


class _Resolver(Resolver):
    """The safe resolver with YAML 1.2 booleans: only true/false, never yes/no/on/off."""


_Resolver.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}
_Resolver.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class _CappedComposer(Composer):
    """The PyYAML composer, stopping at once when depth, alias or value counts pass their caps."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.aliases = 0
        self.values = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        """Compose one node, counting it against the caps first."""
        if self.check_event(AliasEvent):  # type: ignore[attr-defined]
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(f"too many aliases (more than {MAX_ALIASES} '*name' references)", self._mark())
            return super().compose_node(parent, index)  # type: ignore[return-value]
        self.values += 1
        if self.values > MAX_VALUES:
            # A real persona has a few thousand values; stop long before Python-level work gets slow.
            raise _Refused(f"the document has more than {MAX_VALUES} values", self._mark())
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(f"nesting is too deep (more than {MAX_DEPTH} levels)", self._mark())
            return super().compose_node(parent, index)  # type: ignore[return-value]
        finally:
            self.depth -= 1

    def _mark(self) -> Any:
        return self.peek_event().start_mark  # type: ignore[attr-defined]


try:
    from yaml._yaml import CParser as _Parser  # libyaml: the event stream ten times faster

    class _Loader(_CappedComposer, _Parser, _Resolver):
        """libyaml events, composed in Python so depth and aliases can be capped."""

        def __init__(self, text: str) -> None:
            _Parser.__init__(self, text)
            _CappedComposer.__init__(self)
            _Resolver.__init__(self)

except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, _CappedComposer, _Resolver):  # type: ignore[no-redef]
        """Pure-Python events, composed with caps on depth and aliases."""

        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _CappedComposer.__init__(self)
            _Resolver.__init__(self)


@dataclass(frozen=True)
class LoadedPersona:
    """A validated persona with its file, content version, source text and the positions of its keys."""

    persona: Persona
    path: str
    version: str
    source: str
    positions: Positions = field(default_factory=dict, repr=False, compare=False)

    def position(self, loc: Loc) -> tuple[int, int]:
        """Return the (line, col) of ``loc`` or of its nearest ancestor that has one."""
        return lint.locate(self.positions, loc)


@dataclass
class ParseResult:
    """Everything one file yields: the persona (None when invalid) and all its errors and warnings."""

    loaded: LoadedPersona | None
    diagnostics: list[Diagnostic]

    @property
    def errors(self) -> list[Diagnostic]:
        """Return the error diagnostics only."""
        return [d for d in self.diagnostics if d.severity == "error"]


def content_version(data: bytes) -> str:
    """Return the version of a persona file: the start of the SHA-256 hex digest of its bytes."""
    return hashlib.sha256(data).hexdigest()[:VERSION_CHARS]


# --- bytes and text -----------------------------------------------------------------------------------------


def _line_col_of_offset(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = len(before) - (before.rfind(b"\n") + 1) + 1
    return line, col


def _decode(data: bytes, label: str) -> str:
    """Decode UTF-8 bytes or raise a PersonaError naming the offending byte."""
    if data.startswith(_UTF16_BOMS):
        raise PersonaError("the file is UTF-16 text; save it as UTF-8", label, 1, 1)
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col_of_offset(data, nul)
        raise PersonaError(
            f"binary file (NUL byte at offset {nul}); a persona must be UTF-8 text", label, line, col
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of_offset(data, exc.start)
        raise PersonaError(
            f"not UTF-8 text: byte 0x{data[exc.start]:02X} at offset {exc.start} cannot be decoded; "
            "save the file as UTF-8",
            label,
            line,
            col,
        ) from None
    return text


def _check_text(text: str, label: str) -> str:
    """Refuse empty text and characters YAML cannot carry; return the text without a byte-order mark."""
    if text.startswith(_UTF8_BOM):
        text = text[1:]
    bad = _BAD_CHAR_RE.search(text)
    if bad:
        before = text[: bad.start()]
        line = before.count("\n") + 1
        col = bad.start() - (before.rfind("\n") + 1) + 1
        raise PersonaError(
            f"control character U+{ord(bad.group()):04X} is not allowed in a persona file", label, line, col
        )
    if not text.strip():
        raise PersonaError("the file is empty", label, 1, 1)
    return text


# --- YAML -> nodes ------------------------------------------------------------------------------------------


def _mark_pos(mark: Any) -> tuple[int, int]:
    if mark is None:
        return 1, 1
    return int(mark.line) + 1, int(mark.column) + 1


def _compose(text: str, label: str) -> Node:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except _Refused as exc:
        line, col = _mark_pos(exc.mark)
        raise PersonaError(exc.message, label, line, col) from None
    except yaml.MarkedYAMLError as exc:
        line, col = _mark_pos(exc.problem_mark or exc.context_mark)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        message = f"YAML syntax error: {problem}"
        if exc.context and exc.context.startswith("found duplicate anchor"):
            # The composer words this one backwards: the context names the anchor, the problem says "second".
            first = exc.context_mark.line + 1 if exc.context_mark is not None else line
            anchor = exc.context.split(";")[0].removeprefix("found ")
            message = f"YAML error: {anchor} (first defined at line {first})"
        elif exc.context and exc.problem and exc.context_mark is not None:
            context = f"{exc.context} at line {exc.context_mark.line + 1}"
            # libyaml phrases some problems as the second half of a sentence ("but found another document").
            if problem.startswith("but "):
                message = f"YAML syntax error: {context}, {problem}"
            else:
                message += f" ({context})"
        hint = _SYNTAX_HINTS.get(problem)
        index = getattr(exc.problem_mark, "index", None)
        if hint is None and isinstance(index, int) and text[index : index + 1] == "\t":
            hint = _TAB_HINT
        if hint:
            message += f"; {hint}"
        raise PersonaError(message, label, line, col) from None
    except yaml.YAMLError as exc:
        raise PersonaError(f"YAML error: {exc}", label, 1, 1) from None
    except RecursionError:
        raise PersonaError(f"nesting is too deep (more than {MAX_DEPTH} levels)", label, 1, 1) from None
    finally:
        loader.dispose()
    if node is None:
        raise PersonaError("the file is empty (no YAML content, only comments)", label, 1, 1)
    return node


def _measure(root: Node, label: str) -> None:
    """Refuse documents whose aliases expand past the caps, or that refer to themselves."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    active: set[int] = set()
    # Iterative post-order walk: aliases make the tree a DAG, so each distinct node is measured once.
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            active.discard(key)
            if size[key] > MAX_VALUES:
                line, col = _mark_pos(node.start_mark)
                raise PersonaError(
                    f"aliases expand the document to more than {MAX_VALUES} values; "
                    "write the content out instead",
                    label,
                    line,
                    col,
                )
            if depth[key] > MAX_DEPTH:
                line, col = _mark_pos(node.start_mark)
                raise PersonaError(
                    f"nesting is too deep through aliases (more than {MAX_DEPTH} levels)", label, line, col
                )
            continue
        if key in size:
            continue
        if key in active:
            line, col = _mark_pos(node.start_mark)
            raise PersonaError(
                "an alias refers to a node that contains it (recursive alias)", label, line, col
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# --- nodes -> data with positions ---------------------------------------------------------------------------


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG_PREFIX) :] if tag.startswith(_TAG_PREFIX) else tag


class _Builder:
    """Build plain data from a node tree, recording positions and collecting (not raising) errors."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.positions: dict[Loc, tuple[int, int]] = {}
        self.errors: list[Diagnostic] = []
        self.refused: set[Loc] = set()
        self.scalars = SafeConstructor()
        self.loc: Loc = ()

    def error(self, node: Node, message: str, code: str) -> None:
        line, col = _mark_pos(node.start_mark)
        self.errors.append(Diagnostic(self.label, line, col, "error", message, code))
        # Model errors about a value refused here would only repeat this one.
        self.refused.add(self.loc)

    def build(self, node: Node, loc: Loc) -> Any:
        self.positions.setdefault(loc, _mark_pos(node.start_mark))
        self.loc = loc
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self.error(node, f"tag {_short_tag(node.tag)} is not allowed", "yaml-tag")
                return None
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                self.error(node, f"tag {_short_tag(node.tag)} is not allowed", "yaml-tag")
                return None
            return self.mapping(node, loc)
        raise AssertionError(
            f"unknown YAML node {node!r}"
        )  # pragma: no cover - the composer makes only three kinds

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag in _AS_TEXT:
            return node.value
        try:
            if tag == _NULL:
                return None
            if tag == _BOOL:
                if node.value.lower() not in ("true", "false"):
                    raise ValueError(node.value)
                return node.value.lower() == "true"
            if tag == _INT:
                return self.scalars.construct_yaml_int(node)
            if tag == _FLOAT:
                return self.scalars.construct_yaml_float(node)
        except (ValueError, TypeError, yaml.YAMLError):
            self.error(node, f"'{node.value}' is not a valid {_short_tag(tag)}", "yaml-value")
            return node.value
        self.error(node, f"tag {_short_tag(tag)} is not allowed", "yaml-tag")
        return None

    def key(self, node: Node) -> str | None:
        if not isinstance(node, ScalarNode):
            kind = "a list" if isinstance(node, SequenceNode) else "a mapping"
            self.error(node, f"a key must be text, not {kind}", "yaml-key")
            return None
        if node.tag not in _AS_TEXT and node.tag not in (_INT, _FLOAT, _BOOL, _NULL):
            self.error(node, f"tag {_short_tag(node.tag)} is not allowed", "yaml-tag")
            return None
        # Keys are labels: keep them as written, so "1:" or "yes:" are the text "1" and "yes".
        return str(node.value)

    def mapping(self, node: MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.extend(self.merge_pairs(value_node))
                continue
            self.loc = loc
            key = self.key(key_node)
            if key is None:
                continue
            line, col = _mark_pos(key_node.start_mark)
            if key in first_line:
                self.errors.append(
                    Diagnostic(
                        self.label,
                        line,
                        col,
                        "error",
                        f"duplicate key '{key}' (first at line {first_line[key]})",
                        "duplicate-key",
                    )
                )
                continue
            first_line[key] = line
            self.positions[(*loc, key)] = (line, col)
            out[key] = self.build(value_node, (*loc, key))
            self.loc = loc
        # Merged keys ("<<: *base") fill in only what the mapping does not say itself.
        for key_node, value_node in merged:
            key = self.key(key_node)
            if key is None or key in out:
                continue
            self.positions[(*loc, key)] = _mark_pos(key_node.start_mark)
            out[key] = self.build(value_node, (*loc, key))
        return out

    def merge_pairs(self, node: Node) -> list[tuple[Node, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode):
                self.error(source, "'<<' must merge a mapping or a list of mappings", "yaml-merge")
                continue
            pairs.extend(source.value)
        return pairs


# --- pydantic errors -> plain English -----------------------------------------------------------------------


def _kind(value: Any) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"a number ({value:g})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"text '{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover - YAML data has only the kinds above


_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
}

# The two classic YAML surprises in prose: ": " makes a mapping, and a comma splits text inside { } or [ ].
_COLON_HINT = "text containing ': ' must be put in quotes"
_COMMA_HINT = "a comma inside { } or [ ] splits the text; put the text in quotes"

_BRANCH_KIND = {"Reply": dict, "constrained-str": str, "str": str, "int": int, "float": float, "bool": bool}


def _branch_matches(tag: str, value: Any) -> bool | None:
    """Whether a union branch tag in an error location fits the value; None if the tag says nothing."""
    kind = _BRANCH_KIND.get(tag)
    if kind is None and tag.startswith("list["):
        kind = list
    if kind is None:
        return None
    if kind is dict:
        return isinstance(value, dict)
    if kind is str:
        return isinstance(value, str)
    if kind is list:
        return isinstance(value, list)
    if kind is bool:
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _branch_name(tag: str) -> str:
    if tag.startswith("list["):
        return "a list"
    return {
        "Reply": "a mapping",
        "constrained-str": "text",
        "str": "text",
        "int": "a number",
        "float": "a number",
        "bool": "true or false",
    }.get(tag, tag)


def _walk(data: Any, loc: Iterable[Any]) -> tuple[Loc, list[tuple[Loc, str, Any]], Any, bool]:
    """Follow a pydantic loc through the data: the real path, the union tags met, the value, whether found."""
    path: list[str | int] = []
    tags: list[tuple[Loc, str, Any]] = []
    current: Any = data
    found = True
    for part in loc:
        if _has(current, part):
            current = current[part]
            path.append(part)
        elif isinstance(part, str) and (_branch_matches(part, current) is not None or "[" in part):
            tags.append((tuple(path), part, current))
        else:
            # A key the data does not have (missing, or a dict key check): keep it in the path.
            path.append(part)
            found = False
    return tuple(path), tags, current, found


def _has(container: Any, part: Any) -> bool:
    if isinstance(container, dict):
        return isinstance(part, str) and part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _unwrap(annotation: Any, value: Any) -> Any:
    """Strip Annotated/Optional/unions down to the type that fits ``value``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
            continue
        if origin is Union or origin is types.UnionType:
            members = [a for a in get_args(annotation) if a is not type(None)]
            chosen = members[0]
            for member in members:
                base = get_origin(member) or member
                if get_origin(base) is Annotated:
                    base = get_origin(get_args(base)[0]) or get_args(base)[0]
                if (isinstance(value, dict) and isinstance(base, type) and issubclass(base, BaseModel)) or (
                    isinstance(value, list) and base is list
                ):
                    chosen = member
                    break
            annotation = chosen
            continue
        return annotation


def _model_at(data: Any, path: Loc) -> type[BaseModel] | None:
    """Return the model class that validates the mapping at ``path``, if any."""
    annotation: Any = Persona
    current: Any = data
    for part in path:
        annotation = _unwrap(annotation, current)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {(f.alias or name): f for name, f in annotation.model_fields.items()}
            if not isinstance(part, str) or part not in fields:
                return None
            annotation = fields[part].annotation
        elif origin is list and isinstance(part, int):
            annotation = get_args(annotation)[0]
        elif origin is dict and isinstance(part, str):
            annotation = get_args(annotation)[1]
        else:
            return None
        current = (
            current.get(part)
            if isinstance(current, dict)
            else (
                current[part]
                if isinstance(current, list) and isinstance(part, int) and part < len(current)
                else None
            )
        )
    annotation = _unwrap(annotation, current)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_ENTITIES = {"facts": "fact", "endings": "ending", "rules": "rule"}


def _entity(data: Any, path: Loc) -> tuple[str, int]:
    """Name the innermost thing an author knows (rule, fact, topic...) around ``path``, and its length."""
    best = ("the persona", 0)
    for n in range(1, len(path) + 1):
        prefix = path[:n]
        head, last = prefix[:-1], prefix[-1]
        container = head[-1] if head else None
        if isinstance(last, int) and container in ("rules", "facts", "endings"):
            item = _get(data, prefix)
            ident = item.get("id") if isinstance(item, dict) else None
            noun = _ENTITIES[str(container)]
            best = (f"{noun} '{ident}'" if isinstance(ident, str) else f"{noun} #{last + 1}", n)
        elif isinstance(last, int) and container == "fallbacks":
            scope = f" of topic '{head[1]}'" if len(head) >= 3 and head[0] == "topics" else ""
            best = (f"fallback #{last + 1}{scope}", n)
        elif len(prefix) == 2 and prefix[0] in ("topics", "variables", "concepts") and isinstance(last, str):
            noun = {"topics": "topic", "variables": "variable", "concepts": "concept"}[str(prefix[0])]
            best = (f"{noun} '{last}'", n)
    return best


def _get(data: Any, path: Loc) -> Any:
    current = data
    for part in path:
        if _has(current, part):
            current = current[part]
        else:
            return None
    return current


def _describe(data: Any, path: Loc) -> str:
    """Describe a place in the persona, e.g. "'match.any' of rule 'greet'" or "rule 'greet'"."""
    entity, n = _entity(data, path)
    rest = path[n:]
    if not rest:
        return entity
    text = ""
    for part in rest:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return f"'{text}'" if n == 0 else f"'{text}' of {entity}"


def _subject(data: Any, path: Loc) -> str:
    """Describe the value at ``path`` as the subject of a sentence."""
    if not path:
        return "the persona"
    return _describe(data, path)


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=SUGGEST_CUTOFF)
    return matches[0] if matches else None


def _translate(error: Mapping[str, Any], data: Any) -> str:
    """Turn one pydantic error into a sentence an author understands."""
    kind = str(error["type"])
    path, _tags, value, _found = _walk(data, error["loc"])
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        parent = path[:-1]
        message = f"unknown key '{key}' in {_describe(data, parent)}"
        model = _model_at(data, parent)
        if "{" in key or "[" in key:
            return message + "; is a ':' missing after the key?"
        if " " in key.strip():
            return message + f"; {_COMMA_HINT}"
        if model is not None:
            names = _field_names(model)
            close = _suggest(key, names)
            message += f" — did you mean '{close}'?" if close else f"; allowed keys: {', '.join(names)}"
            parent_value = _get(data, parent)
            if not close and isinstance(parent_value, dict) and len(parent_value) == 1:
                message += f" ({_COLON_HINT})"
        return message
    if kind == "missing":
        key = str(path[-1]) if path else "?"
        return f"missing required key '{key}' in {_describe(data, path[:-1])}"
    subject = _subject(data, path)
    if kind in _EXPECTED:
        message = f"{subject} must be {_EXPECTED[kind]}, not {_kind(value)}"
        if kind == "string_type" and isinstance(value, dict) and len(value) == 1:
            message += f"; {_COLON_HINT}"
        return message
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        close = _suggest(str(value), options) if isinstance(value, str) else None
        if close and len(options) > MAX_OPTIONS_LISTED:
            return f"{subject}: '{value}' is not an allowed value — did you mean '{close}'?"
        message = f"{subject} must be one of {expected}, not {_kind(value)}"
        return message + (f" — did you mean '{close}'?" if close else "")
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if pattern.startswith("^[a-z]{2}"):
            return f"{subject} must be a two-letter language code such as 'en' or 'ru', not {_kind(value)}"
        return (
            f"{subject}: '{value}' is not a valid id; use lower-case letters, digits, '_', '-' and '.', "
            "starting with a letter or digit"
        )
    if kind in ("too_short", "string_too_short"):
        if isinstance(value, str) or kind == "string_too_short":
            return f"{subject} must not be empty"
        minimum = ctx.get("min_length", 1)
        return f"{subject} must have at least {minimum} item{'s' if minimum != 1 else ''}"
    if kind in ("too_long", "string_too_long"):
        return f"{subject} is too long (at most {ctx.get('max_length')})"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{subject} must be at least {ctx.get('ge', ctx.get('gt'))}, not {_kind(value)}"
    if kind in ("less_than_equal", "less_than"):
        return f"{subject} must be at most {ctx.get('le', ctx.get('lt'))}, not {_kind(value)}"
    if kind in ("value_error", "assertion_error"):
        reason = ctx.get("error")
        text = str(reason) if reason is not None else str(error.get("msg", ""))
        text = re.sub(r"^(Value error|Assertion failed), ", "", text)
        return f"{subject}: {text}"
    return f"{subject}: {error.get('msg', 'invalid value')}"


def _translate_all(
    exc: ValidationError, data: Any, label: str, positions: Positions, refused: set[Loc]
) -> list[Diagnostic]:
    """Translate every pydantic error, keeping only the union branch that fits the value the author wrote."""
    kept: list[Mapping[str, Any]] = []
    dropped: dict[Loc, tuple[Any, list[str]]] = {}
    covered: set[Loc] = set()
    missing: dict[Loc, list[str]] = {}
    misspelt: dict[Loc, set[str]] = {}
    for error in exc.errors():
        path, tags, _value, _found = _walk(data, error["loc"])
        if any(path[: len(r)] == r for r in refused):
            continue
        if error["type"] == "missing" and path:
            missing.setdefault(path[:-1], []).append(str(path[-1]))
            continue
        if error["type"] == "extra_forbidden" and path:
            model = _model_at(data, path[:-1])
            close = _suggest(str(path[-1]), _field_names(model)) if model is not None else None
            if close:
                misspelt.setdefault(path[:-1], set()).add(close)
        misfits = [(where, tag, value) for where, tag, value in tags if _branch_matches(tag, value) is False]
        if misfits:
            where, _tag, value = misfits[0]
            # The branches chosen above the misfit fit the value, so no type error belongs up there.
            covered.update(w for w, _t, _v in tags[: tags.index(misfits[0])] if len(w) < len(where))
            names = dropped.setdefault(where, (value, []))[1]
            names.extend(_branch_name(t) for w, t, _v in tags if w == where)
            continue
        kept.append(error)
        for where, _tag, _value in tags:
            covered.add(where)
    out: list[Diagnostic] = []
    seen: set[tuple[int, int, str]] = set()

    def add(loc: Loc, message: str, code: str) -> None:
        line, col = lint.locate(positions, loc)
        if (line, col, message) not in seen:
            seen.add((line, col, message))
            out.append(Diagnostic(label, line, col, "error", message, code))

    for kept_error in kept:
        path, _tags, value, _found = _walk(data, kept_error["loc"])
        message = _translate(kept_error, data)
        if kept_error["type"] == "value_error" and isinstance(value, dict):
            # A check on a whole mapping that names one of its keys ("variable name 'X'") points at the key.
            named = [k for k in re.findall(r"'([^']*)'", message) if k in value]
            if named:
                path = (*path, named[0])
        add(path, message, f"model-{kept_error['type']}")
    for parent, keys in missing.items():
        # "unknown key 'replly' — did you mean 'reply'?" already says that 'reply' is missing.
        keys = [k for k in keys if k not in misspelt.get(parent, set())]
        if keys:
            listed = ", ".join(f"'{k}'" for k in keys)
            noun = "key" if len(keys) == 1 else "keys"
            add(parent, f"missing required {noun} {listed} in {_describe(data, parent)}", "model-missing")
    for where, (value, branch_names) in dropped.items():
        if where in covered:
            continue
        options = list(dict.fromkeys(branch_names))
        expected = ", ".join(options[:-1]) + (" or " if len(options) > 1 else "") + options[-1]
        message = f"{_subject(data, where)} must be {expected}, not {_kind(value)}"
        if "text" in options and isinstance(value, dict) and len(value) == 1:
            message += f"; {_COLON_HINT}"
        add(where, message, "model-type")
    return out


# --- public API ---------------------------------------------------------------------------------------------


def parse_persona_bytes(data: bytes, label: str) -> ParseResult:
    """Parse and validate persona bytes; return the persona (or None) with every diagnostic, never raising."""
    try:
        return _parse(data, label)
    except PersonaError as exc:
        return ParseResult(
            None, [Diagnostic(label, exc.line or 1, exc.col or 1, "error", exc.message, "read")]
        )
    except Exception as exc:  # a bug here must still give the author a line, not a traceback
        log.exception("unexpected failure while loading %s", label)
        return ParseResult(
            None, [Diagnostic(label, 1, 1, "error", f"internal error while loading: {exc!r}", "internal")]
        )


def read_yaml(
    data: bytes, label: str, max_bytes: int = MAX_FILE_BYTES
) -> tuple[Any, dict[Loc, tuple[int, int]]]:
    """Read any YAML document with the persona loader's safety caps; return the data and each value's position.

    For other YAML the project reads (persona test files). Raises PersonaError on the first problem: size, encoding,
    syntax, a refused tag, or aliases that expand past the caps.
    """
    if len(data) > max_bytes:
        raise PersonaError(f"the file is too large (more than {max_bytes} bytes)", label, 1, 1)
    root = _compose(_check_text(_decode(data, label), label), label)
    _measure(root, label)
    builder = _Builder(label)
    content = builder.build(root, ())
    if builder.errors:
        first = builder.errors[0]
        raise PersonaError(first.message, label, first.line, first.col)
    return content, builder.positions


def _parse(data: bytes, label: str) -> ParseResult:
    if len(data) > MAX_FILE_BYTES:
        raise PersonaError(f"the file is too large (more than {MAX_FILE_BYTES} bytes)", label, 1, 1)
    text = _check_text(_decode(data, label), label)
    root = _compose(text, label)
    if not isinstance(root, MappingNode):
        line, col = _mark_pos(root.start_mark)
        what = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise PersonaError(
            f"the top level must be a mapping of keys such as 'id:' and 'name:', not {what}", label, line, col
        )
    _measure(root, label)
    builder = _Builder(label)
    content = builder.build(root, ())
    diagnostics = list(builder.errors)
    if not isinstance(content, dict):
        return ParseResult(
            None,
            diagnostics or [Diagnostic(label, 1, 1, "error", "the top level must be a mapping", "top-level")],
        )
    positions = builder.positions
    try:
        persona = Persona.model_validate(content)
    except ValidationError as exc:
        model_errors = _translate_all(exc, content, label, positions, builder.refused)
        return ParseResult(None, _sorted(diagnostics) + _sorted(model_errors))
    if diagnostics:
        return ParseResult(None, _sorted(diagnostics))
    loaded = LoadedPersona(persona, label, content_version(data), text, positions)
    return ParseResult(loaded, lint.check_persona(persona, positions, label))


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    # In file order, so the first line printed is the first thing to fix.
    return sorted(diagnostics, key=lambda d: (d.line, d.col))


def parse_persona_file(path: Path) -> ParseResult:
    """Read a persona file and return the persona (or None) with every diagnostic, never raising."""
    label = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return ParseResult(
            None, [Diagnostic(label, 1, 1, "error", f"cannot read the file: {reason}", "read")]
        )
    return parse_persona_bytes(data, label)


def validate_file(path: Path) -> list[Diagnostic]:
    """Return every diagnostic for one persona file: YAML, model and static checks, errors before warnings."""
    return parse_persona_file(path).diagnostics


def _raise_first(result: ParseResult) -> LoadedPersona:
    errors = result.errors
    if errors or result.loaded is None:
        first = errors[0] if errors else Diagnostic("<persona>", 1, 1, "error", "invalid persona", "internal")
        raise PersonaError(first.message, first.path, first.line, first.col)
    return result.loaded


def load_persona(path: Path) -> LoadedPersona:
    """Load and check one persona file; raise PersonaError for the first error (warnings do not stop it)."""
    return _raise_first(parse_persona_file(path))


def load_persona_text(text: str, path_label: str = "<persona>") -> LoadedPersona:
    """Load and check persona YAML given as text; raise PersonaError for the first error."""
    return _raise_first(parse_persona_bytes(text.encode("utf-8", "surrogatepass"), path_label))


def schema_text() -> str:
    """Return the persona JSON Schema as the text committed in personas/persona.schema.json."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    """Write the persona JSON Schema generated from the models (default: personas/persona.schema.json)."""
    path.write_text(schema_text(), encoding="utf-8")
