"""The environment block: what the numbers depend on, side by side for every implementation.

From the results alone: the run (hypothesis profile, seed, dtypes, devices, Python) and each implementation's
``environment()`` as its adapter recorded it. Known facets are gathered from the keys adapters use (a facet
no adapter recorded says so, rather than being left out); every other key is listed as recorded.
"""
from __future__ import annotations

from reports.formatting import fmt

#: facet -> the environment keys that describe it, in the order they are shown
FACETS = (
    ("dtype policy", ("dtype_policy", "floatx", "default_dtype", "mixed_precision_policy", "epsilon")),
    ("TF32", ("tf32_enabled", "tf32", "tf32_matmul", "tf32_cudnn", "allow_tf32")),
    ("flush-to-zero", ("flush_to_zero", "ftz", "flush_denormal", "denormals_are_zero", "daz")),
    ("threads", ("threads", "intra_op_threads", "inter_op_threads", "cpu_count", "omp_num_threads")),
    ("determinism", ("deterministic_algorithms", "deterministic", "TF_DETERMINISTIC_OPS", "determinism")),
    ("accelerator", ("gpus", "cuda_available", "cuda_device", "cuda_version")),
    ("kernels", ("TF_ENABLE_ONEDNN_OPTS",)),
    ("isolation", ("isolation", "case_timeout_s")),
)
NOTES = {  # values that mean something other than what they say
    ("intra_op_threads", 0): "0 (TensorFlow chooses: one per core)",
    ("inter_op_threads", 0): "0 (TensorFlow chooses)",
}
NOT_RECORDED = "not recorded"


def _value(key: str, value) -> str:
    try:
        note = NOTES.get((key, value))
    except TypeError:  # an unhashable value (a list of GPUs)
        note = None
    return note or ("none" if value is None else fmt(value))


def _not_made(tests) -> str:
    """The combinations the run did not make tests of (an implementation cannot express them, a relation does not
    apply), by test, with the commonest reason of each."""
    if not isinstance(tests, dict):
        return NOT_RECORDED
    lines = []
    for test, reasons in sorted(tests.items(), key=lambda kv: -sum(kv[1].values())):
        top = max(reasons.items(), key=lambda kv: kv[1]) if reasons else ("", 0)
        lines.append(f"{sum(reasons.values())} {test} (most: {fmt(top[0])}, {top[1]})")
    return "\n".join(lines) or "none"


def build(runs: list[dict], impls_meta: list[dict], judged: list[dict]) -> dict:
    several_runs = len(runs) > 1
    columns = []
    for n, run in enumerate(runs, 1):
        for meta in run.get("implementations") or []:
            if isinstance(meta, dict):
                columns.append((f"{meta.get('name')}" + (f" (run {n})" if several_runs else ""), meta, run))
    rows = [
        ("library", [fmt(m.get("library")) + " " + fmt(m.get("version")) for _, m, _ in columns]),
        ("devices", [", ".join(sorted({str(r.get("device")) for r in judged if r.get("impl") == m.get("name")}))
                     or ", ".join(run.get("devices") or []) for _, m, run in columns]),
        ("dtypes checked", [", ".join(run.get("dtypes") or []) for _, _, run in columns]),
        ("hypothesis profile", [fmt(run.get("profile")) or NOT_RECORDED for _, _, run in columns]),
        ("seed", [NOT_RECORDED if run.get("seed") is None else fmt(run.get("seed")) for _, _, run in columns]),
        ("python", [fmt(run.get("python")) or NOT_RECORDED for _, _, run in columns]),
        ("not made tests", [_not_made(m.get("not_made_tests")) for _, m, _ in columns]),
    ]
    used = set()
    for facet, keys in FACETS:
        values = []
        for _, meta, _ in columns:
            env = meta.get("environment") if isinstance(meta.get("environment"), dict) else {}
            found = [f"{k}: {_value(k, env[k])}" for k in keys if k in env]
            used.update(k for k in keys if k in env)
            values.append("\n".join(found) or NOT_RECORDED)
        rows.append((facet, values))
    others = sorted({str(k) for _, m, _ in columns for k in (m.get("environment") or {}) if k not in used})
    for key in others:
        rows.append((key, [_value(key, (m.get("environment") or {}).get(key)) if key in (m.get("environment") or {})
                           else "" for _, m, _ in columns]))
    return {"columns": [name for name, _, _ in columns], "rows": rows, "facets": {f for f, _ in FACETS}}
