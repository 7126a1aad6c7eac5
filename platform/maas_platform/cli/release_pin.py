"""``maas release-pin``: the release pull request's edit of a stack file — an agent's ``image``
pinned to the new digest and its ``delivery.change`` set to what the release is.

Both go in the same commit because the canary reads both from the same pod template: the image
is what rolls out, ``delivery.change`` (the template's ``maas-change`` annotation) is what the
error-budget gate lets through (a ``fix`` ships on a spent budget, a ``feature`` waits;
docs/delivery.md). Writing only the image would leave a previous release's ``fix`` in place and
let the next feature skip the gate; so every release writes its kind, ``feature`` included.

The file is edited as text, so its comments and layout stay as the team wrote them, and then
checked as data: the edit must change exactly the agent's ``image`` and ``delivery.change`` and
nothing else, or the command refuses (exit 1) and writes nothing. ``delivery`` written in flow
style (``delivery: {...}``) is refused with the fix: write it as a block.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Optional

import typer
import yaml

from .console import EXIT_FAILED, console, errors, fail

AGENTS_KEY = "maas:agents"
CHANGES = ("feature", "fix")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


class PinError(Exception):
    """The file cannot be edited as asked; the message names the fix."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _agent_item(lines: list[str], agent: str) -> tuple[int, int, int]:
    """(first line, end line, key indent) of the list item ``- name: <agent>`` under maas:agents."""
    start = next((i for i, line in enumerate(lines) if re.match(rf"^\s*{re.escape(AGENTS_KEY)}:\s*(#.*)?$", line)), None)
    if start is None:
        raise PinError(f"no block-style '{AGENTS_KEY}:' key; the release edits a stack file's maas:agents list")
    section_indent = _indent(lines[start])
    item_pattern = re.compile(r"^(\s*)- name:\s*['\"]?([a-z0-9-]+)['\"]?\s*(#.*)?$")
    dash_indent: Optional[int] = None
    for i in range(start + 1, len(lines)):
        line = lines[i]
        if _significant(line) and _indent(line) <= section_indent:
            break
        match = item_pattern.match(line)
        if match is None:
            continue
        if dash_indent is None:
            dash_indent = len(match.group(1))
        if len(match.group(1)) != dash_indent or match.group(2) != agent:
            continue
        end = i + 1
        while end < len(lines) and not (_significant(lines[end]) and _indent(lines[end]) <= dash_indent):
            end += 1
        return i, end, dash_indent + 2
    raise PinError(f"no agent '{agent}' under {AGENTS_KEY} (an item written '- name: {agent}')")


def pinned(text: str, agent: str, image: str, change: str) -> str:
    """``text`` with the agent's ``image`` and ``delivery.change`` set; raises :class:`PinError`."""
    lines = text.splitlines(keepends=True)
    first, end, key = _agent_item(lines, agent)
    keys = {m.group(1): i for i in range(first + 1, end)
            if (m := re.match(rf"^ {{{key}}}([A-Za-z_]+):", lines[i])) is not None}
    if "image" not in keys:
        raise PinError(f"agent '{agent}' has no 'image:' line of its own; add one")
    lines[keys["image"]] = " " * key + f"image: {image}\n"
    if "delivery" in keys:
        at = keys["delivery"]
        if re.match(rf"^ {{{key}}}delivery:\s*(#.*)?$", lines[at]) is None:
            raise PinError(f"agent '{agent}': delivery is written on one line; write it as a block "
                           "(delivery: then one key per line) so a release can set delivery.change")
        block_end = at + 1
        while block_end < end and not (_significant(lines[block_end]) and _indent(lines[block_end]) <= key):
            block_end += 1
        children = [i for i in range(at + 1, block_end) if _significant(lines[i])]
        child = _indent(lines[children[0]]) if children else key + 2
        existing = next((i for i in children if re.match(rf"^ {{{child}}}change:", lines[i])), None)
        if existing is not None:
            lines[existing] = " " * child + f"change: {change}\n"
        else:
            lines.insert(at + 1, " " * child + f"change: {change}\n")
    elif change != "feature":  # feature is the default: an agent without delivery needs no line
        lines.insert(keys["image"] + 1, " " * key + f"delivery:\n{' ' * (key + 2)}change: {change}\n")
    return "".join(lines)


def _agents(document: Any) -> list[dict[str, Any]]:
    config = (document or {}).get("config") or {}
    agents = config.get(AGENTS_KEY)
    if not isinstance(agents, list):
        raise PinError(f"'{AGENTS_KEY}' is not a list")
    return agents


def check_only_release_changed(before: str, after: str, agent: str, image: str, change: str) -> None:
    """The edit changed the agent's image and delivery.change and nothing else."""
    old, new = yaml.safe_load(before), yaml.safe_load(after)
    expected = copy.deepcopy(old)
    entry = next(a for a in _agents(expected) if isinstance(a, dict) and a.get("name") == agent)
    entry["image"] = image
    if change != "feature" or "delivery" in entry:
        entry.setdefault("delivery", {})["change"] = change
    if new != expected:
        raise PinError("the edit would change more than the agent's image and delivery.change; edit the file by hand")


def release_pin(
    config: Path = typer.Option(..., "--config", help="The stack file to edit, e.g. Pulumi.prod.yaml."),
    agent: str = typer.Option(..., "--agent", help="The agent whose release this is (maas:agents[].name)."),
    image: str = typer.Option(..., "--image", help="The released image, <repository>@sha256:<digest>."),
    change: str = typer.Option("feature", "--change", help="What the release is: feature or fix."),
) -> None:
    """Pin an agent's image to a released digest and say whether the release is a fix.

    \b
    Exit codes:
      0  the file now names the image and the release's kind
      1  the file cannot be edited safely (the message says what to change)
      2  usage: not a digest, an unknown kind, no such file
    """
    if change not in CHANGES:
        raise fail(f"--change: '{change}' is neither feature nor fix")
    if not _DIGEST.search(image):
        raise fail(f"--image: '{image}' is not pinned by digest (<repository>@sha256:<64 hex>)")
    if not config.is_file():
        raise fail(f"--config: {config} is not a file")
    before = config.read_text()
    try:
        after = pinned(before, agent, image, change)
        check_only_release_changed(before, after, agent, image, change)
    except (PinError, yaml.YAMLError) as error:
        errors.print(f"[bold red]error:[/] {config}: {error}", highlight=False, soft_wrap=True, markup=True)
        raise typer.Exit(EXIT_FAILED)
    config.write_text(after)
    console.print(f"{config}: {agent} -> {image} ({change})", highlight=False)
