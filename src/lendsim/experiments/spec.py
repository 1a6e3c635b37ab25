"""Experiment files: schema, validation, expansion into arms and runs, seeds.

An experiment file is a scenario file (``[meta]`` with ``extends``, section tables,
``[params]``; see :mod:`lendsim.simulation.scenario`) plus experiment-only tables::

    [meta]
    name = "cap_by_sharing"
    extends = "baseline.toml"

    [run]
    steps = 24              # default: the scenario's simulation.steps
    replications = 2        # default 1
    root_seed = 7           # default: the scenario's simulation.seed

    [params]
    "borrowers.n" = 2000

    [sweep]                 # lists expand into a full grid; single values stay fixed
    "regulator.apr_cap" = [0.36, 0.24]
    "regulator.data_sharing" = [0.0, 1.0]

    [sample]                # instead of a grid of lists: a sampled design over ranges
    kind = "sobol"          # latin | sobol | morris
    n = 8                   # latin: points; sobol: base samples (a power of 2); morris:
                            # trajectories
    "regulator.apr_cap" = [0.15, 0.36]

    [outputs]
    tables = ["platforms", "banks", "events"]   # the model table is always kept
    borrower_snapshot_every = 12                # output.borrower_snapshot_every
    outcomes = ["delinquency_30", "avg_apr"]    # what the report summarises per run
    outcome_steps = 12                          # ... averaged over the last k steps

Everything else (scheduled shocks, policy schedules, any section) is the scenario loader's
business: the experiment tables are stripped and the rest goes through
:func:`lendsim.simulation.scenario.load_scenario_data`, so experiment files support whatever
scenario files support.

An *arm* is one combination of factor values (a grid point or a sample point); every arm runs
``replications`` times. Replication ``r`` gets the same seed in every arm (common random
numbers), from ``numpy.random.SeedSequence(root_seed).spawn(replications)[r]``.

References:
    Grid rule (lists vary, scalars stay fixed): Agents.jl ``paramscan``.
    Samplers: SALib (Herman & Usher 2017; Iwanaga, Usher & Herman 2022): Latin hypercube
    (McKay, Beckman & Conover 1979), Saltelli's extension of Sobol' sequences (Saltelli 2002),
    Morris trajectories (Morris 1991; Campolongo, Cariboni & Saltelli 2007).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lendsim.errors import ScenarioError
from lendsim.extras import require
from lendsim.results.folders import make_run_id
from lendsim.simulation.params import Scenario, flatten
from lendsim.simulation.scenario import (check_files, load_scenario_data, locate,
                                         parse_overrides, read_toml)

__all__ = ["EXPERIMENT_TABLES", "SAMPLERS", "TABLE_CHOICES", "Experiment", "RunSpec",
           "is_experiment_file", "load_experiment", "make_run_id", "replication_seeds"]

#: Top-level tables that belong to the experiment, not to the scenario.
EXPERIMENT_TABLES = ("run", "sweep", "sample", "outputs")
#: Tables that make a file an experiment file (``[outputs]`` alone does not).
_MARKER_TABLES = ("run", "sweep", "sample")
SAMPLERS = ("latin", "sobol", "morris")
TABLE_CHOICES = ("platforms", "banks", "events", "cascades", "validation")
RUN_KEYS = ("steps", "replications", "root_seed")
SAMPLE_OPTIONS = ("kind", "n", "levels", "second_order", "seed")
OUTPUT_KEYS = ("tables", "borrower_snapshot_every", "outcomes", "outcome_steps")
DEFAULT_OUTCOMES = ("credit_outstanding", "approval_rate", "avg_apr", "delinquency_30",
                    "default_rate", "hhi")
# Spawn key of the design's own seed stream: far above any replication index, so the sample
# never shares a stream with a replication and does not change when replications change.
_DESIGN_SPAWN_KEY = 2**31
MAX_REPLICATIONS = 100_000
#: Most runs one experiment may have. Every run's scenario is built and checked before the
#: first run starts (about a millisecond and a few kB each) and gets its own folder, so a
#: larger design would spend minutes and gigabytes before doing anything: split it instead.
MAX_RUNS = 100_000
#: Parameters an experiment sets itself, from [run]: they cannot be factors.
_RUN_OWNED = {"simulation.steps": "run.steps", "simulation.seed": "run.root_seed"}


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: an arm, a replication and its seed.

    Attributes:
        run_id: ``a<arm>-r<replication>``, zero-padded so that names sort in run order.
        arm: arm index (0-based), the row of the design.
        replication: replication index (0-based).
        seed: the model's seed (``simulation.seed``), shared by replication r in every arm.
        factors: the arm's factor values by dotted parameter key.
        scenario: the fully resolved, validated scenario of this run.
    """

    run_id: str
    arm: int
    replication: int
    seed: int
    factors: dict[str, Any]
    scenario: Scenario


@dataclass(frozen=True)
class Experiment:
    """A validated experiment: the base scenario, the design and the run settings.

    Build with :func:`load_experiment`. ``arms`` holds one dict of factor values per arm;
    ``design`` describes how they were made (``kind`` = ``single``, ``grid``, ``latin``,
    ``sobol`` or ``morris``; for samplers also the SALib ``problem`` and the unrounded
    ``matrix``, which the sensitivity analysis needs).
    """

    name: str
    description: str
    path: Path | None
    text: str
    base: Scenario
    steps: int
    replications: int
    root_seed: int
    factors: tuple[str, ...]
    arms: tuple[dict[str, Any], ...]
    design: dict[str, Any]
    tables: tuple[str, ...]
    borrower_snapshot_every: int
    outcomes: tuple[str, ...]
    outcome_steps: int
    sets: dict[str, Any] = field(default_factory=dict)

    @property
    def n_arms(self) -> int:
        return len(self.arms)

    @property
    def n_runs(self) -> int:
        return self.n_arms * self.replications

    def seeds(self) -> list[int]:
        """One model seed per replication (see :func:`replication_seeds`)."""
        return replication_seeds(self.root_seed, self.replications)

    def run_id(self, arm: int, replication: int) -> str:
        return make_run_id(arm, replication, self.n_arms, self.replications)

    def arm_overrides(self, arm: int) -> dict[str, Any]:
        """Overrides that turn the base scenario into arm ``arm``'s (seed not included)."""
        return {**self.arms[arm], "simulation.steps": self.steps, "output.charts": False,
                "output.borrower_snapshot_every": self.borrower_snapshot_every}

    def arm_scenario(self, arm: int) -> Scenario:
        source = f"{self.path or self.name}, arm {arm}"
        return self.base.with_overrides(self.arm_overrides(arm), source=source)

    def runs(self) -> list[RunSpec]:
        """Every run, arm by arm, replications in order."""
        seeds = self.seeds()
        out = []
        for a in range(self.n_arms):
            scen = self.arm_scenario(a)
            for r, seed in enumerate(seeds):
                out.append(RunSpec(self.run_id(a, r), a, r, seed, dict(self.arms[a]),
                                   scen.with_overrides({"simulation.seed": seed})))
        return out

    def fingerprint(self) -> str:
        """Hash of everything that decides the runs' numbers (not the analysis settings):
        a results folder written by one experiment is never resumed by another."""
        content = {"base": self.base.to_json_dict(), "steps": self.steps,
                   "replications": self.replications, "root_seed": self.root_seed,
                   "arms": list(self.arms), "tables": list(self.tables),
                   "borrower_snapshot_every": self.borrower_snapshot_every}
        text = json.dumps(content, sort_keys=True, default=_jsonable)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_json_dict(self) -> dict[str, Any]:
        """What a results folder records about the experiment (experiment.json)."""
        return {"name": self.name, "description": self.description,
                "file": str(self.path) if self.path else None, "steps": self.steps,
                "replications": self.replications, "root_seed": self.root_seed,
                "seeds": self.seeds(), "factors": list(self.factors),
                "arms": [dict(a) for a in self.arms], "design": self.design,
                "tables": list(self.tables),
                "borrower_snapshot_every": self.borrower_snapshot_every,
                "outcomes": list(self.outcomes), "outcome_steps": self.outcome_steps,
                "sets": dict(self.sets), "base_parameters": self.base.to_json_dict(),
                "fingerprint": self.fingerprint()}


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"not JSON-serialisable: {obj!r}")


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Model seeds of replications ``0..replications-1``, from one root seed.

    ``SeedSequence(root_seed).spawn(replications)`` gives independent child streams; each
    child's first 64-bit word, shifted to 63 bits (so it fits a signed 64-bit column), is
    the model's ``simulation.seed``. Spawning is prefix-stable: adding replications later
    keeps the seeds of the existing ones.

    Args:
        root_seed: the experiment's ``run.root_seed`` (>= 0).
        replications: number of replications (>= 1).

    Returns:
        One int seed per replication.

    Examples:
        >>> replication_seeds(7, 3)[:2] == replication_seeds(7, 2)
        True
        >>> len(set(replication_seeds(7, 100)))
        100

    References:
        NumPy, "Parallel random number generation" (SeedSequence.spawn).
    """
    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]


def design_seed(root_seed: int) -> int:
    """Seed of the sampler (and of the bootstrap in the analysis), derived from the root
    seed on a spawn key no replication uses. Never 0 (SALib treats 0 as 'no seed')."""
    ss = np.random.SeedSequence(root_seed, spawn_key=(_DESIGN_SPAWN_KEY,))
    return int(ss.generate_state(1, dtype=np.uint32)[0]) or 1


# ------------------------------------------------------------------------------- loading
def is_experiment_file(path: str | Path) -> bool:
    """True when the TOML file has a ``[run]``, ``[sweep]`` or ``[sample]`` table."""
    try:
        data = read_toml(locate(path))
    except ScenarioError:
        return False
    return any(t in data for t in _MARKER_TABLES)


def load_experiment(path: str | Path, sets: list[str] | dict[str, Any] | None = None, *,
                    allow_outside: bool = False) -> Experiment:
    """Read and validate an experiment file, and every arm's scenario.

    Args:
        path: the experiment (or plain scenario) file.
        sets: ``--set`` overrides, as ``["key=value", ...]`` or a dict. Keys under ``run.``,
            ``sample.`` (options) and ``outputs.`` change the experiment (e.g.
            ``run.replications=1``); other keys override parameters of every arm. A swept or
            sampled factor cannot be set.
        allow_outside: let paths in the file (``extends``, data files) leave its folder.

    Returns:
        The experiment, every arm's scenario checked.

    Raises:
        ScenarioError: one message naming the field, the value and what is allowed.
    """
    path = locate(path)
    data = read_toml(path)
    text = path.read_text(encoding="utf-8")  # read_toml checked it is small UTF-8 text
    sets = parse_overrides(sets) if isinstance(sets, list) else dict(sets or {})
    exp_sets = {k: v for k, v in sets.items() if k.split(".", 1)[0] in EXPERIMENT_TABLES}
    param_sets = {k: v for k, v in sets.items() if k not in exp_sets}
    tables = {t: data.pop(t, {}) for t in EXPERIMENT_TABLES}
    for t, value in tables.items():
        if not isinstance(value, dict):
            raise ScenarioError(f"{t} = {value!r} (in {path}): must be a table [{t}]")
    for key, value in exp_sets.items():
        table, sub = key.split(".", 1)
        tables[table] = {**tables[table], sub: value}
    base = load_scenario_data(data, path, allow_outside=allow_outside)
    src = str(path)
    run = _run_table(tables["run"], base, src)
    sweep = flatten(tables["sweep"])
    for table, keys in (("sweep", sweep), ("sample", flatten(tables["sample"]))):
        for key in keys:
            if key in _RUN_OWNED:
                raise ScenarioError(f"{key} (in {src} [{table}]): in an experiment the "
                                    f"{key.split('.')[1]} comes from [run] "
                                    f"({_RUN_OWNED[key]}) and cannot vary between arms; run "
                                    "one experiment per value instead")
    grid, fixed = _split_sweep(sweep, base, src)
    _check_size(_n_arms(tables["sample"], grid), run["replications"], src)
    outputs = _outputs_table(tables["outputs"], src)
    base = base.with_overrides(fixed, source=f"{src} [sweep]")
    design, arms = _design(tables["sample"], grid, base, run["root_seed"], src)
    factors = tuple(design["factors"])
    for key in param_sets:
        if key in ("simulation.steps", "simulation.seed"):
            alt = "run.steps" if key.endswith("steps") else "run.root_seed"
            raise ScenarioError(f"--set {key}={param_sets[key]!r}: in an experiment the "
                                f"{key.split('.')[1]} comes from [run]; use --set {alt}=...")
        if key in factors:
            raise ScenarioError(f"--set {key}={param_sets[key]!r}: {key} is a factor of this "
                                f"experiment; change it in [sweep]/[sample] of {src}")
    if param_sets:
        base = base.with_overrides(param_sets, source="--set")
    _check_size(len(arms), run["replications"], src)
    meta = data.get("meta", {})
    exp = Experiment(
        name=str(meta.get("name", path.stem)), description=str(meta.get("description", "")),
        path=path.resolve(), text=text, base=base, steps=run["steps"],
        replications=run["replications"], root_seed=run["root_seed"], factors=factors,
        arms=tuple(arms), design=design, tables=outputs["tables"],
        borrower_snapshot_every=outputs["borrower_snapshot_every"],
        outcomes=outputs["outcomes"], outcome_steps=outputs["outcome_steps"], sets=sets)
    for a in range(exp.n_arms):  # validate every arm, and the files it reads, before
        check_files(exp.arm_scenario(a))  # anything runs
    return exp


def _n_arms(sample: dict, grid: dict[str, list]) -> int:
    """How many arms the design will have, computed before any arm is built (a grid of
    10^9 points must be refused, not built)."""
    if not sample:
        return math.prod(len(v) for v in grid.values()) if grid else 1
    n = sample.get("n")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        return 1  # the sampler's own check names the bad value
    k = sum(1 for key, v in sample.items() if isinstance(v, dict) or "." in key)
    k += sum(len(flatten(v)) - 1 for v in sample.values() if isinstance(v, dict))
    kind = sample.get("kind")
    if kind == "sobol":
        return n * (2 * k + 2 if sample.get("second_order") is True else k + 2)
    if kind == "morris":
        return n * (k + 1)
    return n


def _check_size(n_arms: int, replications: int, src: str) -> None:
    n_runs = n_arms * replications
    if n_runs > MAX_RUNS:
        raise ScenarioError(f"experiment {src}: {n_arms:,} arms x {replications:,} "
                            f"replications = {n_runs:,} runs: must be <= {MAX_RUNS:,} (split "
                            "the design into several experiments)")


def _whole(key: str, value: Any, lo: int, hi: int, src: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ScenarioError(f"{key} = {value!r} (in {src}): must be a whole number >= {lo} "
                            f"and <= {hi}")
    return value


def _unknown(table: str, key: str, value: Any, allowed: tuple[str, ...], src: str) -> None:
    import difflib
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ScenarioError(f"{table}.{key} = {value!r} (in {src}): unknown key{hint}; allowed: "
                        f"{', '.join(allowed)}")


def _run_table(run: dict, base: Scenario, src: str) -> dict[str, int]:
    for key, value in run.items():
        if key not in RUN_KEYS:
            _unknown("run", key, value, RUN_KEYS, src)
    return {
        "steps": _whole("run.steps", run.get("steps", base.simulation.steps), 1, 10_000, src),
        "replications": _whole("run.replications", run.get("replications", 1), 1,
                               MAX_REPLICATIONS, src),
        "root_seed": _whole("run.root_seed", run.get("root_seed", base.simulation.seed), 0,
                            2**63 - 1, src),
    }


def _outputs_table(outputs: dict, src: str) -> dict[str, Any]:
    for key, value in outputs.items():
        if key not in OUTPUT_KEYS:
            _unknown("outputs", key, value, OUTPUT_KEYS, src)
    tables = outputs.get("tables", list(TABLE_CHOICES))
    allowed = ("model",) + TABLE_CHOICES
    if not isinstance(tables, list) or any(t not in allowed for t in tables):
        raise ScenarioError(f"outputs.tables = {tables!r} (in {src}): must be a list of "
                            f"{', '.join(repr(t) for t in allowed)}")
    outcomes = outputs.get("outcomes", list(DEFAULT_OUTCOMES))
    if (not isinstance(outcomes, list) or not outcomes
            or not all(isinstance(o, str) and o for o in outcomes)):
        raise ScenarioError(f"outputs.outcomes = {outcomes!r} (in {src}): must be a non-empty "
                            "list of model-table column names, e.g. [\"delinquency_30\"]")
    unknown = [o for o in outcomes if o not in model_columns()]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], sorted(model_columns()), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ScenarioError(f"outputs.outcomes = {outcomes!r} (in {src}): {unknown[0]!r} is not "
                            f"a column of the model table{hint} (lendsim run writes them all "
                            "to model.parquet)")
    return {
        "tables": tuple(t for t in TABLE_CHOICES if t in tables),
        "borrower_snapshot_every": _whole("outputs.borrower_snapshot_every",
                                          outputs.get("borrower_snapshot_every", 0), 0,
                                          10_000, src),
        "outcomes": tuple(dict.fromkeys(outcomes)),
        "outcome_steps": _whole("outputs.outcome_steps", outputs.get("outcome_steps", 12), 1,
                                10_000, src),
    }


@functools.lru_cache(maxsize=1)
def model_columns() -> frozenset[str]:
    """The model table's columns, read from a one-month run of a 50-borrower market (the
    columns do not depend on the parameters)."""
    from lendsim.simulation.model import MarketModel

    model = MarketModel(Scenario().with_overrides({"borrowers.n": 50, "simulation.steps": 1}))
    try:
        model.run()
        return frozenset(model.tables()["model"].columns)
    finally:
        model.close()


def _kind_of(base: Scenario, key: str, value: Any, table: str, src: str) -> type:
    """The Python type of parameter ``key`` (``tuple`` for list parameters), or the
    scenario's own unknown-parameter error (with its did-you-mean hint)."""
    flat = base.flat()
    if key not in flat:
        base.with_overrides({key: value}, source=f"{src} [{table}]")  # raises
    current = flat[key]
    return tuple if isinstance(current, list) else type(current)


def _split_sweep(sweep: dict[str, Any], base: Scenario, src: str
                 ) -> tuple[dict[str, list], dict[str, Any]]:
    """Lists vary (the grid); single values stay fixed. A parameter that is itself a list
    (e.g. ``borrowers.tier_shares``) varies only when given a list of lists."""
    grid: dict[str, list] = {}
    fixed: dict[str, Any] = {}
    for key, value in sweep.items():
        kind = _kind_of(base, key, value, "sweep", src)
        is_list_param = kind is tuple
        varies = isinstance(value, list) and (
            not is_list_param or (value and all(isinstance(v, list) for v in value)))
        if not varies:
            fixed[key] = value
            continue
        if not value:
            raise ScenarioError(f"{key} = [] (in {src} [sweep]): must list at least one value")
        if len(set(map(repr, value))) != len(value):
            raise ScenarioError(f"{key} = {value!r} (in {src} [sweep]): values must differ")
        for v in value:  # one clear message per bad value, before anything runs
            base.with_overrides({key: v}, source=f"{src} [sweep]")
        grid[key] = value
    return grid, fixed


def _design(sample: dict, grid: dict[str, list], base: Scenario, root_seed: int, src: str
            ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if sample:
        if grid:
            raise ScenarioError(f"[sweep] {', '.join(grid)} (in {src}): lists in [sweep] "
                                "cannot be combined with [sample]; give single values or "
                                "move the factors into [sample] as [low, high] ranges")
        return _sampled_design(sample, base, root_seed, src)
    if not grid:
        return {"kind": "single", "factors": []}, [{}]
    keys = list(grid)
    arms = [dict(zip(keys, combo)) for combo in itertools.product(*grid.values())]
    return {"kind": "grid", "factors": keys, "levels": {k: grid[k] for k in keys}}, arms


def _sampled_design(sample: dict, base: Scenario, root_seed: int, src: str
                    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    options = {k: v for k, v in sample.items() if not isinstance(v, dict) and "." not in k}
    ranges = {k: v for k, v in flatten({k: v for k, v in sample.items()
                                        if k not in options}).items()}
    for key, value in options.items():
        if key not in SAMPLE_OPTIONS:
            _unknown("sample", key, value, SAMPLE_OPTIONS, src)
    kind = options.get("kind")
    if kind not in SAMPLERS:
        raise ScenarioError(f"sample.kind = {kind!r} (in {src}): must be one of "
                            f"{', '.join(repr(s) for s in SAMPLERS)}")
    n = _whole("sample.n", options.get("n"), 1, 1_000_000, src)
    if kind == "sobol" and n & (n - 1):
        raise ScenarioError(f"sample.n = {n} (in {src}): must be a power of 2 for "
                            "kind = 'sobol' (Saltelli sampling keeps its balance only then)")
    levels = _whole("sample.levels", options.get("levels", 4), 2, 100, src)
    if kind == "morris" and levels % 2:
        raise ScenarioError(f"sample.levels = {levels} (in {src}): must be even for Morris "
                            "(Morris 1991, p = even keeps the design symmetric)")
    second = options.get("second_order", False)
    if not isinstance(second, bool):
        raise ScenarioError(f"sample.second_order = {second!r} (in {src}): must be true or "
                            "false")
    seed = options.get("seed")
    seed = design_seed(root_seed) if seed is None else _whole("sample.seed", seed, 1,
                                                              2**32 - 1, src)
    if not ranges:
        raise ScenarioError(f"[sample] (in {src}): no factors; add ranges like "
                            "\"regulator.apr_cap\" = [0.15, 0.36]")
    if kind != "latin" and len(ranges) < 2:
        raise ScenarioError(f"[sample] (in {src}): kind = {kind!r} needs at least 2 factors "
                            f"(got {len(ranges)})")
    bounds, is_int = [], []
    for key, value in ranges.items():
        kind_k = _kind_of(base, key, value, "sample", src)
        if kind_k not in (int, float):
            raise ScenarioError(f"{key} = {value!r} (in {src} [sample]): only numeric "
                                "parameters can be sampled; put it in [sweep] instead")
        if (not isinstance(value, list) or len(value) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           and math.isfinite(v) for v in value) or not value[0] < value[1]):
            raise ScenarioError(f"{key} = {value!r} (in {src} [sample]): must be a range "
                                "[low, high] of two numbers with low < high")
        for v in value:  # the ends must be valid values
            base.with_overrides({key: v}, source=f"{src} [sample]")
        bounds.append([float(value[0]), float(value[1])])
        is_int.append(kind_k is int)
    names = list(ranges)
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    matrix = _salib_sample(kind, problem, n, levels, second, seed)
    arms = [{k: (int(round(x)) if integer else float(x))
             for k, x, integer in zip(names, row, is_int)} for row in matrix]
    design = {"kind": kind, "factors": names, "problem": problem, "n": n, "seed": seed,
              "levels": levels, "second_order": second, "matrix": matrix.tolist(),
              "integer": dict(zip(names, is_int))}
    return design, arms


def _salib_sample(kind: str, problem: dict, n: int, levels: int, second: bool,
                  seed: int) -> np.ndarray:
    """The design matrix (rows = arms) from SALib, seeded (never the global stream)."""
    feature = f"[sample] kind = {kind!r}"
    if kind == "latin":
        latin = require("SALib.sample.latin", "sensitivity", feature)
        return latin.sample(problem, n, seed=seed)
    if kind == "sobol":
        sobol = require("SALib.sample.sobol", "sensitivity", feature)
        return sobol.sample(problem, n, calc_second_order=second, seed=seed)
    morris = require("SALib.sample.morris", "sensitivity", feature)
    return morris.sample(problem, n, num_levels=levels, seed=seed)
