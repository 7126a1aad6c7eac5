"""MAAS-K8S-040: a pod labelled as the golden-set probe runs the platform's probe, for its own
namespace's agent, and nothing else.

The Pushgateway admits pushes only from pods labelled ``app.kubernetes.io/name: maas-probe`` in
agent namespaces (components/observability), and the probe pushes under the grouping key
``agent=<--agent>``. A team administers its agents' namespaces, so without this rule it could
label any pod (curl, or the probe told ``--agent <another agent>``) and write another agent's
golden accuracy. The rule pins what such a pod may be: one container, no init or ephemeral
container, the platform's probe image running ``maas-probe``, ``--agent`` the namespace's agent
and ``--pushgateway`` the platform's Pushgateway; and nothing that runs other code in that
container or changes what the probe imports (lifecycle hooks and exec probes run commands in it;
``envFrom`` and any variable but the judge's credential could set ``PYTHONPATH``; a volume mounted
anywhere but the cases directory could replace the probe's own modules).

Arguments are read strictly, so that what the rule sees is what ``maas-probe`` parses: pairs of
an option of :data:`PROBE_OPTIONS` and its value, each option at most once, no value starting
with ``-``. ``--agent=x`` is refused (not an option of the list), as is an option given twice
(Click keeps the last) and a value that looks like an option. Click 8.5.1, the parser under
Typer (``maas_platform.probe.cli``), read 2026-12-03 in its installed ``click/parser.py``
(pallets/click): ``_process_opts`` splits ``--opt=value`` on the first ``=``; ``_match_long_opt``
matches a long option exactly (no abbreviation: anything else raises ``NoSuchOption``);
``_get_value_from_state`` takes the next token as the value even when it starts with ``-``; a
bare ``--`` ends the options. The strict form is unambiguous under any of those behaviours.

At admission (:class:`~.tenancy.AdmissionContext`) the namespace's agent is its label
``maas.dev/agent`` (the CEL reads ``namespaceObject``) and the image is compared with the
platform's ``maas:probe_image``. A plan has neither: its agent namespaces are named after their
agent (``AgentSpec.namespace``), so ``--agent`` is compared with the object's namespace, and the
image is left to admission.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Optional

from ... import names
from ...config.agents import secret_env_name
from ..core import UNKNOWN, Context, NotEvaluable, Outcome, Resource, resource_rule
from .helpers import WORKLOAD_TYPES, is_manifest, pod_labels, pod_spec_paths
from .tenancy import AdmissionContext

PROBE_COMMAND: tuple[str, ...] = ("maas-probe",)
# The options maas-probe takes a value for (maas_platform.probe.cli.main; the tests compare the two).
# --log-answers, a flag, is not one: the platform never sets it, and a flag would break the pairs.
PROBE_OPTIONS: tuple[str, ...] = ("--cases", "--agent", "--base-url", "--pushgateway", "--timeout", "--retries",
                                  "--concurrency", "--deadline", "--judge-url")
AGENT_OPTION = "--agent"
PUSHGATEWAY_OPTION = "--pushgateway"
MAX_ARGS = 2 * len(PROBE_OPTIONS)
# The only variable the probe's container gets: the agent's gateway credential, for judge models
# (components/agent/golden.py, probe/cli.py JUDGE_KEY_ENV).
PROBE_ENV: tuple[str, ...] = (secret_env_name(names.LLM_GATEWAY_KEY_SECRET),)
# Where the golden set is mounted (components/agent/golden.py CASES_DIR; the tests compare the two).
PROBE_CASES_DIR = "/etc/maas-probe"
# Container fields that run a command in the container besides its entrypoint, or load variables
# from a ConfigMap or Secret the team writes.
FORBIDDEN_CONTAINER_FIELDS: tuple[str, ...] = ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe",
                                               "envFrom")


def argument_problems(args: Any, agent: str) -> Iterator[str]:
    """Why ``args`` are not the strict pairs :func:`~.admission.probe_expression` admits, or do not
    name ``agent`` and the platform's Pushgateway."""
    if not isinstance(args, list) or not all(isinstance(arg, str) for arg in args):
        yield "args are not a list of strings"
        return
    if len(args) % 2 or len(args) > MAX_ARGS:
        yield f"args are {len(args)} strings, not pairs of an option and its value (at most {MAX_ARGS})"
        return
    pairs = list(zip(args[::2], args[1::2]))
    for option, value in pairs:
        if option not in PROBE_OPTIONS:
            yield f"args: {option!r} is not one of {', '.join(PROBE_OPTIONS)} (written apart from its value)"
        if value.startswith("-"):
            yield f"args: the value of {option} is {value!r}, which reads as an option"
    for option in PROBE_OPTIONS:
        if args.count(option) > 1:
            yield f"args: {option} is given {args.count(option)} times"
    values = dict(pairs)
    for option, expected in ((AGENT_OPTION, agent), (PUSHGATEWAY_OPTION, names.PUSHGATEWAY_URL)):
        if option not in args:
            yield f"args: no {option} (it must be {expected})"
        elif values.get(option, expected) != expected:
            yield f"args: {option} is {values[option]!r}, not {expected!r}"


def probe_pod_problems(spec: Mapping[str, Any], agent: str, image: Optional[str]) -> Iterator[Outcome]:
    """What keeps the pod spec from being the platform's probe of ``agent`` on ``image`` (None: not compared)."""
    for key in ("initContainers", "ephemeralContainers"):
        listed = spec.get(key)
        if listed == UNKNOWN:
            yield NotEvaluable(key)
        elif listed:
            yield f"a golden-set probe pod runs {key}"
    containers = spec.get("containers")
    if containers == UNKNOWN:
        yield NotEvaluable("containers")
        return
    if not isinstance(containers, list) or len(containers) != 1:
        count = len(containers) if isinstance(containers, list) else 0
        yield f"a golden-set probe pod runs {count} containers, not one"
        return
    container = containers[0] if isinstance(containers[0], Mapping) else {}
    yield from _container_problems(container, agent, image)


def _container_problems(container: Mapping[str, Any], agent: str, image: Optional[str]) -> Iterator[Outcome]:
    judged = ("image",) * (image is not None) + ("command", "args", "env", "volumeMounts", *FORBIDDEN_CONTAINER_FIELDS)
    values = {key: container.get(key) for key in judged}
    unknown = [key for key, value in values.items() if _unknown(value)]
    for key in unknown:
        yield NotEvaluable(f"containers[0].{key}")
    if image is not None and "image" not in unknown and values["image"] != image:
        yield f"the probe container runs {values['image']}, not the platform's probe image {image}"
    if "command" not in unknown and values["command"] != list(PROBE_COMMAND):
        yield f"the probe container's command is {values['command']}, not {list(PROBE_COMMAND)}"
    if "args" not in unknown:
        yield from argument_problems(values["args"] or [], agent)
    for key in FORBIDDEN_CONTAINER_FIELDS:
        if key not in unknown and values[key] is not None:
            yield f"the probe container sets {key}"
    if "env" not in unknown:
        for variable in values["env"] or []:
            name = variable.get("name") if isinstance(variable, Mapping) else None
            if name not in PROBE_ENV:
                yield f"the probe container sets the variable {name}; it may set only {', '.join(PROBE_ENV)}"
    if "volumeMounts" not in unknown:
        for mount in values["volumeMounts"] or []:
            path = mount.get("mountPath") if isinstance(mount, Mapping) else None
            if path != PROBE_CASES_DIR:
                yield f"the probe container mounts a volume at {path}; only {PROBE_CASES_DIR} may be mounted"


def _unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, list):
        return any(_unknown(item) for item in value)
    if isinstance(value, Mapping):
        return any(_unknown(item) for item in value.values())
    return False


def namespace_agent(resource: Resource, context: Context) -> Any:
    """The agent the object's namespace belongs to: its ``maas.dev/agent`` label at admission,
    else the namespace's name (an agent namespace is named after its agent); None: none,
    ``"[unknown]"``: not known yet."""
    if isinstance(context, AdmissionContext) and context.namespace_labels is not None:
        labels = context.namespace_labels
        if labels == UNKNOWN:
            return UNKNOWN
        return (labels.get(names.AGENT_LABEL) or None) if isinstance(labels, Mapping) else None
    return resource.get("metadata.namespace") or None


@resource_rule(
    "MAAS-K8S-040",
    title="Golden-set probe pods run the platform's probe",
    description="A Pod or pod template labelled app.kubernetes.io/name: maas-probe has exactly one container and no "
                "init or ephemeral containers; the container runs the platform's probe image (maas:probe_image) "
                "with command [maas-probe], its args are pairs of a maas-probe option and its value, each option at "
                "most once, with --agent the namespace's agent and --pushgateway the platform's Pushgateway, and it "
                "sets no lifecycle hook, exec probe or envFrom, no variable but the judge's credential, and mounts "
                "nothing but the golden set. That label is what the Pushgateway admits pushes from; on any other "
                "pod it would let a team write another agent's golden-set results. The cluster holds every request "
                "in an agent namespace to it, the controllers' included; a plan has no probe image to compare with, "
                "so the image is judged at admission only.",
    severity="high",
    remediation="Leave the golden-set probe to AgentService (maas:agents[].golden); label other pods with the "
                "agent's name.",
    types=WORKLOAD_TYPES,
    frameworks={"SOC 2": ["CC6.1", "PI1.4"], "NIST 800-53": ["AC-3", "SI-7"]},
)
def probe_label_only_on_probe(resource: Resource, context: Context) -> Iterator[Outcome]:
    if not is_manifest(resource):
        return
    image = context.probe_image if isinstance(context, AdmissionContext) else None
    for path in pod_spec_paths(resource):
        labels = pod_labels(resource, path)
        if labels == UNKNOWN:
            yield NotEvaluable("pod labels")
            continue
        if labels.get(names.NAME_LABEL) != names.PROBE_APP:
            continue
        spec = resource.get(path)
        if spec == UNKNOWN:
            yield NotEvaluable(path)
            continue
        agent = namespace_agent(resource, context)
        if agent == UNKNOWN:
            yield NotEvaluable("metadata.namespace")
            continue
        if agent is None:
            yield "a golden-set probe pod outside an agent namespace has no agent to probe"
            continue
        yield from probe_pod_problems(spec if isinstance(spec, Mapping) else {}, agent, image)

