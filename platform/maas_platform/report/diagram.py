"""The architecture diagram: the report as Graphviz DOT, rendered to SVG by ``dot``.

Boxes nest as the platform does: the VPC holds the EKS cluster, which runs the add-ons,
the observability stack and the agents; the broker's topics sit outside (SNS is a regional
service). An agent's edge to a topic is drawn solid when it publishes there and dashed,
arrow towards the agent, when it subscribes; red with a bar at the topic when the agent means
to publish there but would be refused (the topic's policy or its own role). Each flow's path
(``maas:flows``) is drawn over those edges, thick and in a colour of its own (class ``flow``),
from each agent to the topic of its hop and on to the hop's agent; it does not move the layout
(``constraint=false``: "the edge is not used in ranking the nodes",
https://graphviz.org/docs/attrs/constraint/, checked 2026-12-03). Each node carries a class (``agent``, ``topic``, ``part``) and an id,
and links to its card in the page.

The layout does not depend on the machine's fonts: every node and box label is a table of
fixed size, measured with :mod:`.fontmetrics` (the widths of the font the page asks for), and
every node is ``fixedsize`` (https://graphviz.org/docs/attrs/fixedsize/ and the ``FIXEDSIZE``
of HTML-like ``TD`` cells, https://graphviz.org/doc/info/shapes.html#html, checked 2026-12-03),
so Graphviz's own text measurement, which follows whatever fonts fontconfig finds, never
decides a size.

Every text from the config goes into HTML-like labels escaped, so a description with
``<`` or ``"`` can neither break the DOT nor reach the page as markup.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
from typing import Optional, Sequence

from ..names import MAAS_CLUSTER, MAAS_CLUSTER_ADDONS, MAAS_NETWORK, MAAS_OBSERVABILITY_STACK
from .fontmetrics import FONT_FAMILY, text_width
from .model import Agent, Part, Report, Topic

FONT = FONT_FAMILY
INK, MUTED = "#1f2933", "#52606d"
AGENT_FILL, AGENT_LINE = "#e6f0ff", "#3b6fd8"
TOPIC_FILL, TOPIC_LINE = "#fff4e0", "#d48806"
PART_FILL, PART_LINE = "#ffffff", "#9aa5b1"
PUBLISH, SUBSCRIBE, REFUSED = "#2f6fde", "#c27803", "#c81e1e"
# Text sizes (points) and the room around them, for measuring labels.
TITLE_SIZE, DETAIL_SIZE, BOX_TITLE_SIZE, BOX_DETAIL_SIZE = 11, 9, 12, 10
LINE_SPACING = 1.3  # a line's height as a multiple of its size
CELL_PADDING = 1  # the tables' cellpadding
NODE_MARGIN = (8.64, 4.32)  # the nodes' margin="0.12,0.06", in points
# Above this many agents the diagram draws one node per team: a node per agent stops being readable.
MAX_AGENT_NODES = 24
TEAM_NAMES_SHOWN = 6


class DiagramError(RuntimeError):
    """The diagram cannot be drawn (Graphviz missing or failing); the message is one line."""


def anchor(kind: str, name: str) -> str:
    """The HTML id of an agent's or topic's card (``agent-triage``): names made id-safe."""
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_.-]", "-", name)


def require_dot() -> str:
    """The path of Graphviz's ``dot``, or a :class:`DiagramError` saying how to install it."""
    found = shutil.which("dot")
    if found is None:
        raise DiagramError("the report's diagram needs Graphviz: 'dot' is not on PATH "
                           "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz)")
    return found


def to_dot(report: Report) -> str:
    """The report's architecture as a DOT digraph."""
    lines = [
        "digraph architecture {",
        f'  graph [rankdir=TB, newrank=true, compound=true, bgcolor="transparent", pad=0.2, nodesep=0.3, ranksep=0.55,'
        f' fontname="{FONT}", fontsize=12, fontcolor="{INK}", labeljust=l];',
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize={TITLE_SIZE}, fontcolor="{INK}",'
        f' penwidth=1.2, margin="0.12,0.06", fixedsize=true];',
        f'  edge [fontname="{FONT}", fontsize=9, penwidth=1.4, arrowsize=0.7];',
    ]
    parts = {p.type: p for p in report.parts}
    platform_nodes = [_part_node(p) for p in report.parts
                      if p.type in (MAAS_CLUSTER_ADDONS, MAAS_OBSERVABILITY_STACK)]
    cluster = parts.get(MAAS_CLUSTER)
    if cluster is not None and cluster.items:
        platform_nodes.insert(0, _node("part-eks-addons", "part", _table("EKS add-ons", [], cluster.items),
                                       PART_FILL, PART_LINE, href="#platform"))
    by_team = len(report.agents) > MAX_AGENT_NODES
    members = _teams(report.agents) if by_team else {}
    if by_team:
        nodes = [(_team_id(t), _team_node(t, names)) for t, names in members.items()]
    else:
        nodes = [(_agent_id(a.name), _agent_node(a)) for a in report.agents]
    rows = _chunks(nodes)
    agents = _in_rows(rows)
    subtitle = [f"{len(report.agents)} bounded contexts"] + ([f"drawn by team ({len(members)})"] if by_team else [])
    agents_box = _box("agents", _label_text("Agents", subtitle), agents, fill="#f7faff", line="#bcd0f7")
    inside = platform_nodes + agents_box
    if cluster is not None:
        inside = _box("cluster", _label_text(cluster.title, _cluster_summary(cluster)), inside, fill="#f4f6f8",
                      line="#7b8794")
    network = parts.get(MAAS_NETWORK)
    if network is not None:
        inside = _box("network", _label_text("VPC", _network_summary(network)), inside, fill="#fbfcfd", line="#9aa5b1")
    elif report.stack_references:
        names = ", ".join(name for name, _ in report.stack_references)
        inside = _box("platform", _label_text("EKS cluster", [f"of {names}, read through a StackReference"]), inside,
                      fill="#f4f6f8", line="#7b8794")
    lines += ["  " + line for line in inside]
    if report.topics:
        subtitle = ["SNS topics, an SQS inbox and DLQ per agent"]
        lines += ["  " + line for line in _box("broker", _label_text("Broker", subtitle),
                                               [_topic_node(t) for t in report.topics], fill="#fffaf0",
                                               line="#e3b35b")]
    # Platform pieces above the agents, and each row of agents above the next: invisible edges.
    heads = [f'"{_quote(row[0][0])}"' for row in rows]
    if platform_nodes and heads:
        lines.append(f'  "{_node_id(platform_nodes[0])}" -> {heads[0]} [style=invis];')
    lines += [f"  {upper} -> {lower} [style=invis];" for upper, lower in zip(heads, heads[1:])]
    lines += ["  " + edge for edge in (_team_edges(report, members) if by_team else _edges(report))]
    lines += ["  " + edge for edge in _flow_edges(report, by_team)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def agents_per_row(count: int) -> int:
    """How many agents one row of the diagram holds: all of a few, about 1.5 √count of more."""
    return count if count <= 6 else max(5, math.ceil(1.5 * math.sqrt(count)))


def render_svg(source: str, dot: Optional[str] = None, timeout: float = 120) -> str:
    """SVG from DOT by running Graphviz, trimmed to the ``<svg>`` element and made to scale."""
    command = [dot or require_dot(), "-Tsvg"]
    try:
        done = subprocess.run(command, input=source, capture_output=True, text=True, timeout=timeout, check=False)
    except OSError as error:
        raise DiagramError(f"could not run {command[0]}: {error.strerror or error}") from None
    except subprocess.TimeoutExpired:
        raise DiagramError(f"dot did not finish the diagram within {timeout:g}s") from None
    if done.returncode != 0 or "<svg" not in done.stdout:
        problem = next((line for line in done.stderr.splitlines() if line.strip()), f"exit code {done.returncode}")
        raise DiagramError(f"dot could not draw the diagram: {problem}")
    svg = done.stdout[done.stdout.index("<svg"):]
    # Scale down with the page, never above its drawn size: the viewBox stays, the fixed size goes.
    def scalable(match: re.Match) -> str:
        width = float(match.group(1).removesuffix("pt"))
        # Never drawn below 60% of its size: a wide diagram scrolls rather than shrinking past reading.
        return (f'<svg class="diagram" style="max-width: {width:.0f}pt; min-width: {width * 0.6:.0f}pt" '
                'role="img" aria-label="architecture: network, cluster, add-ons, agents and broker topics"')

    return re.sub(r'<svg width="([^"]*)" height="[^"]*"', scalable, svg, count=1)


# -- nodes and boxes ------------------------------------------------------------------------

def _agent_id(name: str) -> str:
    return anchor("agent", name) + "-node"


def _team_id(team: str) -> str:
    return anchor("team", team) + "-node"


def _chunks(nodes: Sequence[tuple[str, str]]) -> list[Sequence[tuple[str, str]]]:
    """(id, node) pairs cut into the diagram's rows."""
    per_row = agents_per_row(len(nodes)) or 1
    return [nodes[i:i + per_row] for i in range(0, len(nodes), per_row)]


def _in_rows(rows: Sequence[Sequence[tuple[str, str]]]) -> list[str]:
    """The nodes, one rank per row when there is more than one row."""
    if len(rows) <= 1:
        return [node for row in rows for _, node in row]
    lines = []
    for row in rows:
        lines += ["{ rank=same;", *("  " + node for _, node in row), "}"]
    return lines


def _teams(agents: Sequence[Agent]) -> dict[str, list[str]]:
    teams: dict[str, list[str]] = {}
    for agent in agents:
        teams.setdefault(agent.team, []).append(agent.name)
    return dict(sorted(teams.items()))


def _team_node(team: str, names: Sequence[str]) -> str:
    shown = list(names[:TEAM_NAMES_SHOWN])
    rest = len(names) - len(shown)
    lines = [", ".join(shown[i:i + 3]) for i in range(0, len(shown), 3)]
    details = [f"{len(names)} agents"] + lines + ([f"and {rest} more"] if rest else [])
    return _node(_team_id(team), "agent-group", _table(f"team {team}", details, ()), AGENT_FILL, AGENT_LINE,
                 href="#agents", tooltip=f"team {team}: {len(names)} agents")


def _team_edges(report: Report, members: dict[str, list[str]]) -> list[str]:
    """One edge per team and topic and direction, naming the team's agents that publish or subscribe."""
    team_of = {a.name: a.team for a in report.agents}
    pairs: dict[tuple[str, str, str], list[str]] = {}
    for agent in report.agents:
        refused = tuple(topic for topic, _ in agent.refused)
        for kind, topics in (("publish", agent.publishes), ("subscribe", agent.subscribes), ("refused", refused)):
            for topic in topics:
                pairs.setdefault((kind, team_of[agent.name], topic), []).append(agent.name)
    edges = []
    for (kind, team, topic), names in sorted(pairs.items()):
        verb = {"publish": "publish to", "subscribe": "subscribe to", "refused": "would be refused by"}[kind]
        style = {"publish": f'color="{PUBLISH}"', "subscribe": f'dir=back, style=dashed, color="{SUBSCRIBE}"',
                 "refused": f'arrowhead=tee, style=bold, color="{REFUSED}"'}[kind]
        edges.append(f'"{_quote(_team_id(team))}" -> "{_quote(anchor("topic", topic))}-node" [{style}, '
                     f'class="{kind}", penwidth={min(1.2 + 0.2 * len(names), 4):.1f}, '
                     f'tooltip="{_quote(f"{len(names)} agents of team {team} {verb} {topic}")}"];')
    return edges


def _agent_node(agent: Agent) -> str:
    details = [f"team {agent.team}"]
    if agent.datastores:
        details[0] += " · " + ", ".join(agent.datastores)
    second = []
    if agent.replicas:
        low, high = agent.replicas
        second.append(f"{low}–{high} replicas" if low != high else f"{low} replicas")
    if agent.exposure:
        second.append(agent.exposure)
    if second:
        details.append(" · ".join(second))
    return _node(anchor("agent", agent.name) + "-node", "agent", _table(agent.name, details, ()),
                 AGENT_FILL, AGENT_LINE, href="#" + anchor("agent", agent.name), tooltip=f"agent {agent.name}",
                 node_id=anchor("agent", agent.name))


def _topic_node(topic: Topic) -> str:
    kind = "SNS FIFO topic" if topic.ordered else "SNS topic"
    details = [kind] + ([_shorten(topic.description, 42)] if topic.description else [])
    return _node(anchor("topic", topic.name) + "-node", "topic", _table(topic.name, details, ()), TOPIC_FILL,
                 TOPIC_LINE, href="#topics", tooltip=f"topic {topic.name}", node_id=anchor("topic", topic.name))


def _part_node(part: Part) -> str:
    key = part.type.rsplit(":", 1)[-1].lower()
    return _node(f"part-{key}", "part", _table(part.title, [], part.items), PART_FILL, PART_LINE, href="#platform")


def _node(graphviz_id: str, css: str, label: tuple[str, float, float], fill: str, line: str, *, href: str,
          tooltip: str = "", node_id: Optional[str] = None) -> str:
    """One node of the size its measured ``label`` (text, width, height in points) needs;
    ``node_id`` is its SVG id (the DOT name is ``graphviz_id``)."""
    text, width, height = label
    size = [f"width={(width + 2 * NODE_MARGIN[0]) / 72:.3f}", f"height={(height + 2 * NODE_MARGIN[1]) / 72:.3f}"]
    attributes = [f"label=<{text}>", *size, f'class="{css}"', f'id="{_quote(node_id or graphviz_id)}"',
                  f'fillcolor="{fill}"', f'color="{line}"', f'href="{_quote(href)}"',
                  f'tooltip="{_quote(tooltip or graphviz_id)}"']
    return f'"{_quote(graphviz_id)}" [{", ".join(attributes)}];'


def _node_id(node: str) -> str:
    return node.split('"', 2)[1]


def _box(key: str, label: str, body: Sequence[str], *, fill: str, line: str) -> list[str]:
    """A Graphviz cluster (a labelled box) around ``body``."""
    return [
        f"subgraph cluster_{key} {{",
        f'  label=<{label}>; style="rounded,filled"; fillcolor="{fill}"; color="{line}"; penwidth=1.2;'
        f' margin=14; id="box-{key}"; class="box";',
        *("  " + line_ for line_ in body),
        "}",
    ]


def line_height(size: float) -> float:
    return round(size * LINE_SPACING + 2 * CELL_PADDING, 2)


def _cell(markup: str, width: float, size: float) -> str:
    """A table row of fixed size holding one line of text, set left."""
    return (f'<tr><td align="left" fixedsize="true" width="{width:.0f}" height="{line_height(size):.0f}">'
            f"{markup}</td></tr>")


def _table(title: str, details: Sequence[str], items: Sequence[str]) -> tuple[str, float, float]:
    """A node's label: its title, then smaller detail and item lines; with its width and height in points."""
    lines = [(title, TITLE_SIZE, True)] + [(text, DETAIL_SIZE, False) for text in (*details, *items)]
    width = float(math.ceil(max(text_width(text, size, bold) for text, size, bold in lines) + 2 * CELL_PADDING + 2))
    rows = [_cell(f"<b>{_escape(title)}</b>", width, TITLE_SIZE)]
    rows += [_cell(f'<font point-size="{DETAIL_SIZE}" color="{MUTED}">{_escape(d)}</font>', width, DETAIL_SIZE)
             for d in details]
    rows += [_cell(f'<font point-size="{DETAIL_SIZE}">{_escape(item)}</font>', width, DETAIL_SIZE) for item in items]
    height = sum(round(line_height(size)) for _, size, _ in lines)
    table = f'<table border="0" cellborder="0" cellspacing="0" cellpadding="{CELL_PADDING}">{"".join(rows)}</table>'
    return table, width, float(height)


def _label_text(title: str, details: Sequence[str]) -> str:
    """A box's label on one line: the title and its details in two cells of the measured size
    (so neither the box nor where the details start moves with a font)."""
    height = f'{line_height(BOX_TITLE_SIZE):.0f}'
    cells = [(f"<b>{_escape(title)}</b>", math.ceil(text_width(title, BOX_TITLE_SIZE, True) + 10))]
    if details:
        detail = " · ".join(details)
        cells.append((f'<font point-size="{BOX_DETAIL_SIZE}" color="{MUTED}">{_escape(detail)}</font>',
                      math.ceil(text_width(detail, BOX_DETAIL_SIZE) + 4)))
    row = "".join(f'<td align="left" fixedsize="true" width="{width}" height="{height}">{markup}</td>'
                  for markup, width in cells)
    return f'<table border="0" cellborder="0" cellspacing="0" cellpadding="0"><tr>{row}</tr></table>'


def _cluster_summary(cluster: Part) -> list[str]:
    facts = dict(cluster.facts)
    summary = [facts[key] for key in ("name",) if key in facts]
    if "Kubernetes" in facts:
        summary.append(f"Kubernetes {facts['Kubernetes']}")
    summary += [f"{label.removeprefix('node group ')}: {value}" for label, value in cluster.facts
                if label.startswith("node group ")]
    return summary


def _network_summary(network: Part) -> list[str]:
    facts = dict(network.facts)
    summary = [facts.get("VPC", "-"), facts.get("availability zones", "-")]
    nat = facts.get("NAT gateways")
    if nat is not None:
        summary.append(f"{nat} NAT gateway" + ("" if nat == "1" else "s"))
    return summary


def _edges(report: Report) -> list[str]:
    edges = []
    for agent in report.agents:
        source = anchor("agent", agent.name) + "-node"
        for topic in agent.publishes:
            target = anchor("topic", topic) + "-node"
            edges.append(f'"{_quote(source)}" -> "{_quote(target)}" [class="publish", '
                         f'id="{_quote(f"publish-{agent.name}-{topic}")}", color="{PUBLISH}", '
                         f'tooltip="{_quote(f"{agent.name} publishes to {topic}")}"];')
        for topic, why in agent.refused:
            target = anchor("topic", topic) + "-node"
            edges.append(f'"{_quote(source)}" -> "{_quote(target)}" [class="refused", arrowhead=tee, style=bold, '
                         f'id="{_quote(f"refused-{agent.name}-{topic}")}", color="{REFUSED}", '
                         f'tooltip="{_quote(f"{agent.name} would publish to {topic}, refused: {why}")}"];')
        for topic in agent.subscribes:
            target = anchor("topic", topic) + "-node"
            # Drawn agent -> topic with the arrow reversed, so agents stay above the topics.
            edges.append(f'"{_quote(source)}" -> "{_quote(target)}" [dir=back, style=dashed, class="subscribe", '
                         f'id="{_quote(f"subscribe-{agent.name}-{topic}")}", color="{SUBSCRIBE}", '
                         f'tooltip="{_quote(f"{agent.name} subscribes to {topic}")}"];')
    return edges


def _flow_edges(report: Report, by_team: bool) -> list[str]:
    """Each flow's path in its colour: the agent before a hop to the hop's topic, the topic on to
    the hop's agent (drawn agent -> topic, arrow reversed, as subscriptions are); from and to the
    agents' team nodes when the diagram draws teams. Agents and topics not drawn are skipped."""
    team_of = {a.name: a.team for a in report.agents}
    topics = {t.name for t in report.topics}

    def node(agent: str) -> str:
        return _team_id(team_of[agent]) if by_team else _agent_id(agent)

    edges = []
    for flow in report.flows:
        colour, previous = flow.colour, flow.entry
        for index, (topic, agent) in enumerate(flow.hops):
            target = anchor("topic", topic) + "-node"
            for end, direction, verb in ((previous, "", "publishes to"), (agent, "dir=back, ", "takes from")):
                if end not in team_of or topic not in topics:
                    continue
                step = "out" if not direction else "in"
                edges.append(f'"{_quote(node(end))}" -> "{_quote(target)}" [{direction}class="flow", '
                             f'id="{_quote(f"flow-{flow.name}-{index}-{step}")}", color="{colour}", penwidth=3.2, '
                             f'constraint=false, tooltip="{_quote(f"flow {flow.name}: {end} {verb} {topic}")}"];')
            previous = agent
    return edges


def _escape(text: str) -> str:
    """Text for a Graphviz HTML-like label."""
    return html.escape(str(text), quote=True)


def _quote(text: str) -> str:
    """Text for a DOT double-quoted string: no escape sequence of Graphviz's survives."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"
