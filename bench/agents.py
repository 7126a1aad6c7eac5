"""How the offline plan scales with the agent catalog, against the SDK's own floor.

    .venv/bin/python bench/agents.py [--sizes 10 100 500] [--repeat 3] [--json PATH] [--markdown]
    .venv/bin/python bench/agents.py --gc tuned                # the same, with the collector tuned
    .venv/bin/python bench/agents.py --profile 100             # where one plan's time goes

For each size N the dev stack (``stacks/Pulumi.dev.yaml``) is planned with a synthetic
catalog of N agents (:func:`maas_platform.plan.catalog.write_catalog_stack`), and the same
number of resources is registered by a program without any component logic, under the
same mock runtime, :class:`FakeCloud` and capturing monitor (the *floors*):

* ``bare``   -- plain ``pulumi.CustomResource`` subclasses with two string inputs: the SDK,
  mock and capture cost of a registration and nothing else;
* ``bucket`` -- ``pulumi_aws.s3.Bucket`` with a name and tags: a typed provider class with
  28 output properties, heavier than the average resource of the plan.

Every measurement runs in a fresh interpreter, so peak RSS belongs to that one run. The
modules a cold plan imports are imported before the clock starts, in plans and floors
alike: the timed region is the plan itself, and both start from the same resident set.
The cold plan (imports included) is measured once and reported beside. Time spent in the
cyclic garbage collector is measured in every run (``gc.callbacks``).

Timings are medians of ``--repeat`` runs, as wall seconds and as CPU seconds of the child
(``time.process_time``, all threads), which moves far less when other processes share the
machine. The figures to compare are the ratios, taken within one invocation. Nothing here
asserts on a timing.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib
import json
import os
import platform as host
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parent.parent
BASE_STACK = ROOT / "stacks" / "Pulumi.dev.yaml"
FLOORS = ("bare", "bucket")
# ``--gc tuned``: what the proposed change to run_program does before running a program.
TUNED_GC_THRESHOLD = (500_000, 1000, 1000)

# A Pulumi program with no component logic: COUNT resources of one kind, flat under the stack.
FLOOR_PROGRAM = '''\
import pulumi
import pulumi_aws as aws

config = pulumi.Config("bench")
count = config.require_int("count")
kind = config.require("kind")


class Bare(pulumi.CustomResource):
    """Two string inputs, no provider class behind it."""

    def __init__(self, name: str, value: str):
        super().__init__("bench:index:Bare", name, {"value": value, "label": name})


for index in range(count):
    name = f"floor-{index:05d}"
    if kind == "bare":
        Bare(name, value=f"value-{index}")
    else:
        aws.s3.Bucket(name, bucket=f"bench-{name}", tags={"bench": "floor", "index": str(index)})
'''


# -- child side: one measurement per interpreter ---------------------------------------------

def _peak_mb() -> float:
    """Peak resident set of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _preload(names: list[str]) -> None:
    """Import ``names`` and load lazy modules (pulumi_aws/pulumi_kubernetes load on first attribute)."""
    for name in names:
        try:
            module = importlib.import_module(name)
            getattr(module, "__bench_preload__", None)  # any non-introspection attribute loads a lazy module
        except Exception:  # noqa: BLE001 - a module that cannot load alone is simply not preloaded
            continue


class _GcClock:
    """Wall seconds and runs of the cyclic garbage collector, per generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.runs = [0, 0, 0]
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.runs[info["generation"]] += 1


def gc_setting(text: str) -> str:
    """``default``, ``off``, ``tuned`` or ``freeze:T0,T1,T2`` (checked here, applied in the child)."""
    if text in ("default", "off", "tuned"):
        return text
    kind, _, numbers = text.partition(":")
    try:
        thresholds = [int(n) for n in numbers.split(",")]
    except ValueError:
        thresholds = []
    if kind != "freeze" or len(thresholds) != 3 or min(thresholds) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': expected default, off, tuned or freeze:T0,T1,T2")
    return text


def _apply_gc(mode: str) -> None:
    """Set the collector up for one timed run (the child exits afterwards)."""
    if mode == "off":
        gc.disable()
    elif mode != "default":
        thresholds = TUNED_GC_THRESHOLD if mode == "tuned" else tuple(int(n) for n in mode.split(":")[1].split(","))
        gc.collect()
        gc.freeze()  # what is alive now (modules, config) is never garbage: stop rescanning it
        gc.set_threshold(*thresholds)


def _timed(run: Callable[[], Any], gc_mode: str) -> tuple[Any, dict[str, Any]]:
    clock = _GcClock()
    _apply_gc(gc_mode)
    gc.callbacks.append(clock)
    start, cpu_start = time.perf_counter(), time.process_time()
    value = run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    gc.callbacks.remove(clock)
    return value, {"seconds": seconds, "cpu_seconds": cpu_seconds, "gc_seconds": sum(clock.seconds), "gc_seconds_by_generation": clock.seconds,
                   "gc_runs_by_generation": clock.runs, "peak_mb": _peak_mb()}


def _child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT / "platform"))
    from maas_platform.plan import plan_project
    from maas_platform.plan.engine import run_program
    from maas_platform.plan.fake_cloud import FakeCloud

    import maas_platform

    _preload(json.loads(Path(args.preload).read_text()) if args.preload else [])
    before = set(sys.modules)
    result: dict[str, Any] = {"baseline_mb": _peak_mb(), "package": str(Path(maas_platform.__file__).parent)}

    if args.child == "plan":
        from maas_platform.plan import pipeline

        # The policy gate's share of the plan: every rule over the planned resources.
        gate_seconds: list[float] = []

        def timed_gate(*gate_args: Any, __gate=pipeline.gate, **gate_kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return __gate(*gate_args, **gate_kwargs)
            finally:
                gate_seconds.append(time.perf_counter() - start)

        pipeline.gate = timed_gate
        plan, timing = _timed(lambda: plan_project(ROOT, config_file=Path(args.config)), args.gc)
        result.update(timing)
        result["gate_seconds"] = sum(gate_seconds)
        result["resources"] = len(plan.resources)
        result["cloud_resources"] = len(plan.cloud_resources())
        result["components"] = sum(1 for r in plan.resources if not r.custom)
        result["providers"] = sum(1 for r in plan.resources if r.is_provider)
        result["plan_sha256"] = hashlib.sha256(plan.to_json().encode()).hexdigest()
    else:
        capture, timing = _timed(lambda: run_program(
            Path(args.program), project="maas", stack=f"floor{args.count}",
            config={"bench:count": args.count, "bench:kind": args.child.removeprefix("floor-")},
            cloud=FakeCloud(region="us-east-1"),
        ), args.gc)
        result.update(timing)
        result["resources"] = len(capture.resources)
    if args.list_modules:
        # Lazy modules the SDK registered but nothing used are left out: they stay unloaded.
        result["modules"] = sorted(
            name for name in set(sys.modules) - before
            if not name.startswith("__") and type(sys.modules[name]).__name__ != "_LazyModule"
        )
    Path(args.result).write_text(json.dumps(result))


# -- profile -----------------------------------------------------------------------------------------

def _thread_timers(targets: dict[str, tuple[Any, str]]) -> dict[str, list[float]]:
    """Wrap ``owner.attribute`` callables to add up their thread CPU seconds and calls.

    The mock monitor answers registrations on an executor thread, which cProfile (main
    thread only) does not see; these counters do. A recursive call counts once, in its
    outermost call.
    """
    totals: dict[str, list[float]] = {}
    lock = threading.Lock()
    for label, (owner, attribute) in targets.items():
        original = getattr(owner, attribute)
        totals[label] = [0.0, 0]

        def wrapper(*args, __original=original, __total=totals[label], __local=threading.local(), **kwargs):
            if getattr(__local, "depth", 0):  # a recursive call: its time is inside the outer call's
                return __original(*args, **kwargs)
            __local.depth = 1
            start = time.thread_time()
            try:
                return __original(*args, **kwargs)
            finally:
                with lock:
                    __total[0] += time.thread_time() - start
                    __total[1] += 1
                __local.depth = 0

        setattr(owner, attribute, wrapper)
    return totals


# (label, file suffix, function): cumulative seconds of the main thread, from the profile.
PROFILE_ROWS = (
    ("program: stacks/__main__.py (components build args, construct resources)", "stacks/__main__.py", "<module>"),
    ("  AgentService.__init__ (all agents)", "components/agent.py", "__init__"),
    ("  tag transformations (maas_platform.tagging)", "maas_platform/tagging.py", "transform"),
    ("SDK: Resource.__init__ (synchronous part of every registration)", "pulumi/resource.py", "__init__"),
    ("  SDK: _get_stack_trace (a stack trace per resource)", "pulumi/runtime/resource.py", "_get_stack_trace"),
    ("  SDK: transfer_properties (4 futures per output property)", "pulumi/runtime/rpc.py", "transfer_properties"),
    ("SDK: prepare_resource (await inputs, serialize)", "pulumi/runtime/resource.py", "prepare_resource"),
    ("SDK: serialize_properties", "pulumi/runtime/rpc.py", "serialize_properties"),
    ("SDK: resolve_outputs (deserialize the mock's answer)", "pulumi/runtime/rpc.py", "resolve_outputs"),
    ("SDK: Output.apply", "pulumi/output.py", "apply"),
    ("asyncio: create_task", "asyncio/base_events.py", "create_task"),
    ("asyncio: call_soon", "asyncio/base_events.py", "call_soon"),
)


def _own_time_by_package(stats: Any) -> list[tuple[str, float]]:
    """Own (not cumulative) seconds grouped by where the code lives."""
    groups: dict[str, float] = {}
    for (file, _, function), row in stats.stats.items():
        if "maas_platform" in file or file.endswith("stacks/__main__.py"):
            group = "maas_platform + stacks/__main__.py"
        elif "/pulumi_aws/" in file or "/pulumi_kubernetes/" in file:
            group = "pulumi_aws, pulumi_kubernetes (generated classes)"
        elif "/pulumi/" in file:
            group = "pulumi SDK"
        elif "asyncio" in file:
            group = "asyncio"
        elif "pydantic" in file:
            group = "pydantic"
        elif "protobuf" in file:
            group = "protobuf"
        elif file == "~":
            group = "builtins (isinstance, hasattr, ...)"
        else:
            group = "other stdlib (pathlib, traceback, typing, ...)"
        groups[group] = groups.get(group, 0.0) + row[2]
    return sorted(groups.items(), key=lambda item: -item[1])


def _profile(count: int, top: int, out: Optional[Path], gc_mode: str) -> None:
    """cProfile of one plan of ``count`` agents in this process (modules imported first)."""
    import cProfile
    import pstats

    sys.path.insert(0, str(ROOT / "platform"))
    from maas_platform.plan import engine, fake_cloud, plan_project
    from maas_platform.plan.catalog import write_catalog_stack
    from pulumi.runtime import mocks

    with tempfile.TemporaryDirectory(prefix="maas-bench-") as tmp:
        # A plan of the dev stack first imports the SDK modules, so the profile shows the plan.
        plan_project(ROOT, config_file=BASE_STACK)
        config = write_catalog_stack(BASE_STACK, Path(tmp) / f"Pulumi.bench{count}.yaml", count)
        threads = _thread_timers({
            "mock monitor: RegisterResource (SDK mock + capture + fake cloud)": (engine.CapturingMonitor, "RegisterResource"),
            "  SDK MockMonitor.RegisterResource (includes the fake cloud)": (mocks.MockMonitor, "RegisterResource"),
            "    fake cloud: FakeCloud.new_resource": (fake_cloud.FakeCloud, "new_resource"),
            "  capture: clean() of the recorded inputs": (engine, "clean"),
        })
        profiler = cProfile.Profile()
        plan, timing = _timed(lambda: profiler.runcall(plan_project, ROOT, config_file=config), gc_mode)
    elapsed = timing["seconds"]
    stats = pstats.Stats(profiler)
    print(f"profile: {count} agents, {len(plan.resources)} resources, {elapsed:.2f} s under cProfile "
          f"(gc {gc_mode})\n")
    print("Garbage collector (wall seconds inside collections, all threads):")
    for generation, (seconds, runs) in enumerate(zip(timing["gc_seconds_by_generation"], timing["gc_runs_by_generation"])):
        print(f"  {seconds:7.2f} s  {seconds / elapsed:5.1%}  generation {generation} ({runs} collections)")
    print("\nOwn time by package (main thread; collections are charged to whatever allocated):")
    for group, seconds in _own_time_by_package(stats):
        print(f"  {seconds:7.2f} s  {seconds / elapsed:5.1%}  {group}")
    print("\nCumulative time of selected functions (main thread; rows overlap where one calls another):")
    for label, path, function in PROFILE_ROWS:
        cumulative = max(
            (row[3] for (file, _, func), row in stats.stats.items() if file.endswith(path) and func == function),
            default=0.0,
        )
        print(f"  {cumulative:7.2f} s  {cumulative / elapsed:5.1%}  {label}")
    print("\nOn the mock monitor's executor thread (thread CPU seconds, not in the profile):")
    for label, (seconds, calls) in threads.items():
        print(f"  {seconds:7.2f} s  {seconds / elapsed:5.1%}  {label} ({calls} calls)")
    if out:
        stats.dump_stats(out)
        print(f"\nstats written to {out} (python -m pstats {out})")
    print(f"\nTop {top} maas_platform functions by cumulative time:")
    stats.sort_stats("cumulative").print_stats("maas_platform", top)
    print(f"Top {top} functions by own time:")
    stats.sort_stats("tottime").print_stats(top)


# -- parent side ---------------------------------------------------------------------------------

def _run_child(kind: str, result: Path, gc_mode: str, *, config: Optional[Path] = None,
               program: Optional[Path] = None, count: int = 0, preload: Optional[Path] = None,
               list_modules: bool = False) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--result", str(result),
               "--gc", gc_mode]
    if config:
        command += ["--config", str(config)]
    if program:
        command += ["--program", str(program), "--count", str(count)]
    if preload:
        command += ["--preload", str(preload)]
    if list_modules:
        command.append("--list-modules")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: benchmark child '{kind}' failed:\n{done.stderr[-4000:]}")
    return json.loads(result.read_text())


def _machine() -> dict[str, Any]:
    return {
        "date": date.today().isoformat(),
        "nproc": os.cpu_count(),
        "python": host.python_version(),
        "platform": host.platform(),
        "processor": host.processor() or host.machine(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("pulumi", "pulumi_aws", "pulumi_kubernetes", "pydantic", "protobuf", "grpcio"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def _summarise(runs: list[dict[str, Any]], resources: int) -> dict[str, Any]:
    median = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    seconds, peak, baseline, gc_seconds = median("seconds"), median("peak_mb"), median("baseline_mb"), median("gc_seconds")
    cpu = median("cpu_seconds")
    gate = statistics.median(r.get("gate_seconds", 0.0) for r in runs)
    return {
        "seconds": seconds,
        "gate_seconds": gate,
        "gate_share": gate / seconds,
        "seconds_samples": [r["seconds"] for r in runs],
        "ms_per_resource": 1000 * seconds / resources,
        "cpu_seconds": cpu,
        "cpu_seconds_samples": [r["cpu_seconds"] for r in runs],
        "cpu_ms_per_resource": 1000 * cpu / resources,
        "gc_seconds": gc_seconds,
        "gc_share": gc_seconds / seconds,
        "gc_runs_by_generation": runs[0]["gc_runs_by_generation"],
        "peak_mb": peak,
        "peak_mb_samples": [r["peak_mb"] for r in runs],
        "baseline_mb": baseline,
        "growth_mb": peak - baseline,
        "kb_per_resource": 1024 * (peak - baseline) / resources,
    }


def measure(sizes: list[int], repeat: int, gc_mode: str, log: Callable[[str], None]) -> dict[str, Any]:
    machine = _machine()
    with tempfile.TemporaryDirectory(prefix="maas-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sys.path.insert(0, str(ROOT / "platform"))
        from maas_platform.plan.catalog import write_catalog_stack

        configs = {n: write_catalog_stack(BASE_STACK, tmp / f"Pulumi.bench{n}.yaml", n) for n in sizes}
        program = tmp / "floor" / "__main__.py"
        program.parent.mkdir()
        program.write_text(FLOOR_PROGRAM)

        # Cold runs of the smallest size: the plan's time includes the SDK modules it imports,
        # and the modules either imports are preloaded by every timed run below.
        smallest = min(sizes)
        log(f"cold plan, {smallest} agents")
        cold = _run_child("plan", tmp / "cold.json", gc_mode, config=configs[smallest], list_modules=True)
        floor_cold = _run_child("floor-bucket", tmp / "floor-cold.json", gc_mode, program=program,
                                count=cold["resources"], list_modules=True)
        preload = tmp / "preload.json"
        preload.write_text(json.dumps(sorted(set(cold["modules"]) | set(floor_cold["modules"]))))

        rows = []
        for n in sizes:
            samples: dict[str, list[dict[str, Any]]] = {"plan": [], **{f: [] for f in FLOORS}}
            for attempt in range(repeat):
                log(f"{n} agents: plan, run {attempt + 1}/{repeat}")
                plan = _run_child("plan", tmp / "plan.json", gc_mode, config=configs[n], preload=preload)
                samples["plan"].append(plan)
                for floor in FLOORS:
                    log(f"{n} agents: floor '{floor}' of {plan['resources']} resources, run {attempt + 1}/{repeat}")
                    got = _run_child(f"floor-{floor}", tmp / "floor.json", gc_mode, program=program,
                                     count=plan["resources"], preload=preload)
                    if got["resources"] != plan["resources"]:
                        raise SystemExit(f"error: floor '{floor}' registered {got['resources']}, "
                                         f"the plan {plan['resources']}")
                    samples[floor].append(got)
            counts = sorted({s["resources"] for s in samples["plan"]})
            resources = int(statistics.median(s["resources"] for s in samples["plan"]))
            first = samples["plan"][0]
            row: dict[str, Any] = {
                "agents": n,
                "resources": resources,
                "resources_samples": [s["resources"] for s in samples["plan"]],
                "cloud_resources": first["cloud_resources"],
                "components": first["components"],
                "providers": first["providers"],
                "repeat": repeat,
                # Byte-identical plan JSON across the runs of a size (unless the code changed in between).
                "same_plan": len({s["plan_sha256"] for s in samples["plan"]}) == 1,
                "resource_count_changed": len(counts) > 1,
            }
            for kind, runs in samples.items():
                row[kind] = _summarise(runs, resources)
            for floor in FLOORS:
                row[f"ratio_{floor}"] = {
                    "time": row["plan"]["seconds"] / row[floor]["seconds"],
                    "cpu": row["plan"]["cpu_seconds"] / row[floor]["cpu_seconds"],
                    "time_without_gc": (row["plan"]["seconds"] - row["plan"]["gc_seconds"])
                    / (row[floor]["seconds"] - row[floor]["gc_seconds"]),
                    "peak_mb": row["plan"]["peak_mb"] / row[floor]["peak_mb"],
                    "growth_mb": row["plan"]["growth_mb"] / max(row[floor]["growth_mb"], 1.0),
                }
            rows.append(row)

    growth = []
    for a, b in zip(rows, rows[1:]):
        step = b["resources"] - a["resources"]
        kinds = ("plan", *FLOORS)
        growth.append({
            "from": a["agents"], "to": b["agents"],
            "resources": b["resources"] / a["resources"],
            **{f"{k}_time": b[k]["seconds"] / a[k]["seconds"] for k in kinds},
            **{f"{k}_cpu": b[k]["cpu_seconds"] / a[k]["cpu_seconds"] for k in kinds},
            **{f"{k}_marginal_cpu_ms": 1000 * (b[k]["cpu_seconds"] - a[k]["cpu_seconds"]) / step for k in kinds},
            # Cost of one more resource between the two sizes: flat when growth is linear.
            **{f"{k}_marginal_ms": 1000 * (b[k]["seconds"] - a[k]["seconds"]) / step for k in kinds},
            **{f"{k}_marginal_ms_without_gc": 1000 * ((b[k]["seconds"] - b[k]["gc_seconds"])
                                                      - (a[k]["seconds"] - a[k]["gc_seconds"])) / step for k in kinds},
            **{f"{k}_marginal_kb": 1024 * (b[k]["peak_mb"] - a[k]["peak_mb"]) / step for k in kinds},
        })
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "machine": machine,
        "versions": _versions(),
        "repeat": repeat,
        "gc": gc_mode,
        "package": cold["package"],
        "cold_plan": {"agents": smallest, "seconds": cold["seconds"], "peak_mb": cold["peak_mb"],
                      "resources": cold["resources"], "modules_imported": len(cold["modules"])},
        "sizes": rows,
        "growth": growth,
    }


# -- report ----------------------------------------------------------------------------------------

def _table(headers: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" ---: " for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def report(results: dict[str, Any], markdown: bool = False) -> str:
    machine, rows = results["machine"], results["sizes"]
    load = lambda key: "/".join(f"{x:.1f}" for x in machine[key])  # noqa: E731
    out = [
        f"{machine['date']}  nproc={machine['nproc']}  Python {machine['python']}  {machine['platform']}  "
        f"load {load('load_average_at_start')} -> {load('load_average_at_end')}",
        "  ".join(f"{k} {v}" for k, v in results["versions"].items()),
        f"medians of {results['repeat']} run(s); each run in a fresh interpreter with the SDK modules preloaded; "
        f"gc {results['gc']}",
        "",
        "Plan of the dev stack with N synthetic agents",
        _table(
            ["agents", "resources", "cloud", "components", "plan s", "gate s", "gate share", "ms/res", "cpu s",
             "cpu ms/res", "gc share", "peak MB", "growth MB", "KB/res", "same plan"],
            [[str(r["agents"]), str(r["resources"]), str(r["cloud_resources"]), str(r["components"]),
              f"{r['plan']['seconds']:.2f}", f"{r['plan']['gate_seconds']:.2f}", f"{r['plan']['gate_share']:.0%}",
              f"{r['plan']['ms_per_resource']:.2f}",
              f"{r['plan']['cpu_seconds']:.2f}", f"{r['plan']['cpu_ms_per_resource']:.2f}", f"{r['plan']['gc_share']:.0%}",
              f"{r['plan']['peak_mb']:.0f}", f"{r['plan']['growth_mb']:.0f}", f"{r['plan']['kb_per_resource']:.0f}",
              "yes" if r["same_plan"] else ("no: code changed" if r["resource_count_changed"] else "NO")]
             for r in rows],
            markdown,
        ),
        "",
        "SDK floor: as many resources, no component logic (bare: CustomResource; bucket: aws.s3.Bucket)",
        _table(
            ["agents", "bare s", "bare cpu s", "bare gc", "bare MB", "bucket s", "bucket cpu s", "bucket MB",
             "time plan/bare", "cpu", "w/o gc", "time plan/bucket", "cpu", "peak plan/bare", "peak plan/bucket",
             "growth plan/bare"],
            [[str(r["agents"]),
              f"{r['bare']['seconds']:.2f}", f"{r['bare']['cpu_seconds']:.2f}", f"{r['bare']['gc_share']:.0%}",
              f"{r['bare']['peak_mb']:.0f}",
              f"{r['bucket']['seconds']:.2f}", f"{r['bucket']['cpu_seconds']:.2f}", f"{r['bucket']['peak_mb']:.0f}",
              f"{r['ratio_bare']['time']:.2f}x", f"{r['ratio_bare']['cpu']:.2f}x", f"{r['ratio_bare']['time_without_gc']:.2f}x",
              f"{r['ratio_bucket']['time']:.2f}x", f"{r['ratio_bucket']['cpu']:.2f}x",
              f"{r['ratio_bare']['peak_mb']:.2f}x", f"{r['ratio_bucket']['peak_mb']:.2f}x",
              f"{r['ratio_bare']['growth_mb']:.2f}x"] for r in rows],
            markdown,
        ),
    ]
    if results["growth"]:
        out += [
            "",
            "Growth between sizes (linear: time ratio = resource ratio, cost of an extra resource flat)",
            _table(
                ["agents", "resources x", "plan time x", "cpu x", "bare time x", "cpu x", "plan ms/extra", "cpu",
                 "w/o gc", "bare ms/extra", "cpu", "w/o gc", "bucket cpu ms/extra", "plan KB/extra", "bare KB/extra"],
                [[f"{g['from']} -> {g['to']}", f"{g['resources']:.2f}", f"{g['plan_time']:.2f}", f"{g['plan_cpu']:.2f}",
                  f"{g['bare_time']:.2f}", f"{g['bare_cpu']:.2f}",
                  f"{g['plan_marginal_ms']:.2f}", f"{g['plan_marginal_cpu_ms']:.2f}", f"{g['plan_marginal_ms_without_gc']:.2f}",
                  f"{g['bare_marginal_ms']:.2f}", f"{g['bare_marginal_cpu_ms']:.2f}", f"{g['bare_marginal_ms_without_gc']:.2f}",
                  f"{g['bucket_marginal_cpu_ms']:.2f}",
                  f"{g['plan_marginal_kb']:.0f}", f"{g['bare_marginal_kb']:.0f}"] for g in results["growth"]],
                markdown,
            ),
        ]
    cold = results["cold_plan"]
    warm = next(r for r in rows if r["agents"] == cold["agents"])
    out += [
        "",
        f"cold plan of {cold['agents']} agents, importing {cold['modules_imported']} modules on the way: "
        f"{cold['seconds']:.2f} s, {cold['peak_mb']:.0f} MB peak (preloaded: {warm['plan']['seconds']:.2f} s)",
    ]
    return "\n".join(out)


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500], help="agent counts (default 10 100 500)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is reported (default 3)")
    parser.add_argument("--gc", type=gc_setting, default="default", metavar="SETTING",
                        help="collector in the timed runs: default; off; tuned = gc.freeze() and thresholds "
                             "%s; freeze:T0,T1,T2 = gc.freeze() and these thresholds" % (TUNED_GC_THRESHOLD,))
    parser.add_argument("--json", type=Path, help="also write the figures and every sample to this file")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--profile", type=int, metavar="N", help="profile one plan of N agents in-process instead")
    parser.add_argument("--profile-out", type=Path, help="with --profile: also dump the pstats to this file")
    parser.add_argument("--top", type=int, default=25, help="rows per profile listing (default 25)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    # Internal: one measurement in a fresh interpreter.
    parser.add_argument("--child", choices=["plan", *(f"floor-{f}" for f in FLOORS)], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--program", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--preload", help=argparse.SUPPRESS)
    parser.add_argument("--list-modules", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        _child(args)
        return
    if args.profile is not None:
        _profile(args.profile, args.top, args.profile_out, args.gc)
        return
    if args.repeat < 1 or any(n < 1 for n in args.sizes):
        parser.error("--repeat and --sizes must be positive")

    def log(message: str) -> None:
        if not args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    results = measure(sorted(set(args.sizes)), args.repeat, args.gc, log)
    print(report(results, markdown=args.markdown))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
