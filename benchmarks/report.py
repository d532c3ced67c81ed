"""The benchmark report: markdown tables and matplotlib plots from the suite's rows.

``write`` turns the rows of one suite run into ``report.md`` plus PNGs in the output
directory; ``publish`` copies it to ``docs/performance.md`` (plots under 200 KB into
``docs/img/``). Nothing here measures anything: every figure comes from the rows.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

MAX_DOC_IMAGE = 200 * 1024
LABELS = {
    ("fedring", "plain"): "fedring plain",
    ("fedring", "secure"): "fedring secure",
    ("flower", "plain"): "Flower plain",
    ("flower", "secure"): "Flower SecAgg+",
}
ORDER = list(LABELS)


def label(row: dict) -> str:
    name = LABELS.get((row["system"], row["mode"]), f"{row['system']} {row['mode']}")
    n = row.get("at_once")
    return name if not n else f"{name} ({'1' if n == 1 else n} at once)"


def setting_name(row: dict) -> str:
    part = "IID" if row["scheme"] == "iid" else f"Dirichlet(α={row.get('alpha')})"
    images = "all" if row.get("limit") is None else f"{row['limit']:,}"
    return f"{part}, {row['accounts']} accounts, {images} training images, {row['rounds']} rounds{at_once_name(row.get('at_once'))}"


def at_once_name(n: int | None) -> str:
    """How many clients a system trained at the same time (each on cores / n cores and threads)."""
    if not n:
        return ""
    return ", one client at a time" if n == 1 else f", {n} clients at once"


def settings_name(r: dict) -> str:
    """Which settings a ratio row compares: equal ones, or each system's fastest."""
    fed, peer = r.get("fedring_at_once"), r.get("flower_at_once")
    if r.get("kind") == "each at its best":
        return f"each at its best: fedring{at_once_name(fed)}, Flower{at_once_name(peer)}"
    return f"equal{at_once_name(fed)}"


def fmt(x: object, digits: int = 2) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def fmt_bytes(x: float | None) -> str:
    return "—" if x is None else f"{x / 1e6:,.2f} MB"


def fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def _ordered(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: ORDER.index((r["system"], r["mode"])) if (r["system"], r["mode"]) in ORDER else 99)


def _group(rows: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(setting_name(r), []).append(r)
    return {k: _ordered(v) for k, v in groups.items()}


def _ok(row: dict) -> bool:
    return row.get("status") in ("ok", "incomplete")


# ---------------------------------------------------------------- tables


def results_table(rows: list[dict]) -> str:
    head = (
        "| system | mode | s/round (median 2..R) | client code s/round | total s | CPU s (all processes) | final accuracy | bytes/client/round | × float32 update | host peak MB | all-process peak MB |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        name, mode = (label(r).split(" ", 1) + [""])[:2]
        if not _ok(r):
            lines.append(f"| {name} | {mode} | {r.get('status')} | | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {mode} | {fmt(r['median_round_s'])} | {fmt(r.get('client_round_s'))} | {fmt(r['total_s'], 1)} | {fmt(r.get('cpu_s'), 0)} | {fmt_pct(r['final_accuracy'])} | "
            f"{fmt_bytes(r['bytes_client'])} | {fmt(r['expansion'], 3)} | {fmt(r['host_peak_mb'], 0)} | {fmt(r['tree_peak_mb'], 0)} |"
        )
    return head + "\n".join(lines) + "\n"


def ratio_table(ratio_rows: list[dict]) -> str:
    head = (
        "| setting | settings compared | mode | s/round | client code s/round | CPU s | total s | bytes/client | expansion | host peak | all-process peak | accuracy (fedring − Flower) |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in ratio_rows:
        acc = "—" if r.get("accuracy_pp") is None else f"{r['accuracy_pp']:+.2f} pp"
        lines.append(
            f"| {setting_name(r)} | {settings_name(r)} | {r['mode']} | {fmt(r['median_round_s'])} | {fmt(r.get('client_round_s'))} | {fmt(r.get('cpu_s'))} | {fmt(r['total_s'])} | {fmt(r['bytes_client'], 3)} | "
            f"{fmt(r['expansion'], 3)} | {fmt(r['host_peak_mb'])} | {fmt(r['tree_peak_mb'])} | {acc} |"
        )
    return head + "\n".join(lines) + "\n"


def accuracy_table(rows: list[dict]) -> str:
    ok = [r for r in rows if _ok(r)]
    if not ok:
        return ""
    n = max(len(r["accuracy_per_round"]) for r in ok)
    head = "| system | " + " | ".join(f"round {i}" for i in range(1, n + 1)) + " |\n|---|" + "---:|" * n + "\n"
    lines = [f"| {label(r)} | " + " | ".join(fmt_pct(a) for a in r["accuracy_per_round"]) + " |" for r in ok]
    return head + "\n".join(lines) + "\n"


def sweep_table(rows: list[dict]) -> str:
    head = "| accounts | system | s/round (median 2..R) | client code s/round | total s | CPU s | final accuracy | bytes/client/round | all-process peak MB |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|\n"
    lines = []
    for r in sorted(rows, key=lambda r: (r["accounts"], ORDER.index((r["system"], r["mode"])) if (r["system"], r["mode"]) in ORDER else 99)):
        if not _ok(r):
            lines.append(f"| {r['accounts']} | {label(r)} | {r.get('status')} | | | | | | |")
            continue
        lines.append(
            f"| {r['accounts']} | {label(r)} | {fmt(r['median_round_s'])} | {fmt(r.get('client_round_s'))} | {fmt(r['total_s'], 1)} | {fmt(r.get('cpu_s'), 0)} | {fmt_pct(r['final_accuracy'])} | "
            f"{fmt_bytes(r['bytes_client'])} | {fmt(r['tree_peak_mb'], 0)} |"
        )
    return head + "\n".join(lines) + "\n"


def targets_table(checks: list[dict]) -> str:
    """The issue targets; *training alone* is the least ratio fedring's own training allows (``compare.training_floor``)."""
    head = "| target | where | measured | training alone | limit | status |\n|---|---|---:|---:|---:|---|\n"
    return head + "\n".join(f"| {c['target']} | {c['where']} | {fmt(c['value'], 3)} | {fmt(c.get('training_floor'), 3)} | "
                             f"{fmt(c['limit'], 2)} | {c['status']} |" for c in checks) + "\n"


def stage_table(results: list[dict]) -> str:
    """Where a fedring round's seconds go (median over rounds 2..R of each stage)."""
    lines = []
    for res in results:
        spec = res.get("spec", {})
        if spec.get("system") != "fedring" or res.get("bench") != "compare" or not res.get("rounds"):
            continue
        later = [r for r in res["rounds"] if r["round"] >= 2] or res["rounds"]
        stages: dict[str, list[float]] = {}
        for r in later:
            for k, v in (r.get("stage_seconds") or {}).items():
                stages.setdefault(k, []).append(v)
        if stages:
            cells = ", ".join(f"{k} {sorted(v)[len(v) // 2]:.2f} s" for k, v in stages.items())
            lines.append(f"- fedring {spec['mode']}, {setting_name(spec)}: {cells}")
    return "\n".join(lines) + ("\n" if lines else "")


def cpu_table(rows: list[dict]) -> str:
    """CPU seconds of each job's process tree, by process."""
    ok = [r for r in rows if _ok(r) and r.get("cpu_by_process")]
    if not ok:
        return ""
    lines = []
    for r in ok:
        cells = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(r["cpu_by_process"].items(), key=lambda kv: -kv[1]) if v >= 0.5)
        lines.append(f"- {label(r)}, {setting_name(r)}: {cells}")
    return "CPU seconds by process (whole run):\n\n" + "\n".join(lines) + "\n"


def flower_stage_bytes(results: list[dict]) -> str:
    lines = []
    for res in results:
        spec = res.get("spec", {})
        if spec.get("system") != "flower" or spec.get("mode") != "secure" or not res.get("bytes_by_stage_per_client_round"):
            continue
        cells = ", ".join(f"{k or 'reply'} {v / 1e6:.3f} MB" for k, v in res["bytes_by_stage_per_client_round"].items())
        lines.append(f"- Flower SecAgg+, {setting_name(spec)}: {cells}")
    return "\n".join(lines) + ("\n" if lines else "")


# ---------------------------------------------------------------- plots


def plots(out: Path, compare: list[dict], sweep: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[Path] = []
    groups = {k: [r for r in v if _ok(r)] for k, v in _group(compare).items()}
    groups = {k: v for k, v in groups.items() if v}
    if groups:
        for key, ylabel, fname in (
            ("accuracy_per_round", "test accuracy", "accuracy.png"),
            ("seconds_per_round", "seconds per round (wall)", "seconds.png"),
        ):
            fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.6), squeeze=False)
            for ax, (name, rows) in zip(axes[0], groups.items()):
                for r in rows:
                    ys = r[key]
                    ax.plot(range(1, len(ys) + 1), ys, marker="o", label=label(r))
                ax.set_title(name, fontsize=8)
                ax.set_xlabel("round")
                ax.xaxis.get_major_locator().set_params(integer=True)
                ax.set_ylabel(ylabel)
                ax.grid(alpha=0.3)
            axes[0][0].legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(out / fname, dpi=90)
            plt.close(fig)
            made.append(out / fname)
        first = next(iter(groups.values()))
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        names = [label(r) for r in first if r.get("bytes_client")]
        vals = [r["bytes_client"] / 1e6 for r in first if r.get("bytes_client")]
        bars = ax.bar(names, vals, color=["C0", "C1", "C2", "C3"][: len(vals)])
        for b, v in zip(bars, vals):
            ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom", fontsize=8)
        ax.set_ylabel("MB a client sends per round")
        ax.set_title(next(iter(groups)), fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        fig.tight_layout()
        fig.savefig(out / "bytes.png", dpi=90)
        plt.close(fig)
        made.append(out / "bytes.png")
    ok_sweep = [r for r in sweep if _ok(r)]
    if ok_sweep:
        fig, ax = plt.subplots(figsize=(5.2, 3.6))
        for sys_mode in ORDER:
            for n in sorted({r.get("at_once") or 0 for r in ok_sweep}):
                rows = sorted((r for r in ok_sweep if (r["system"], r["mode"]) == sys_mode and (r.get("at_once") or 0) == n),
                              key=lambda r: r["accounts"])
                if rows:
                    ax.plot([r["accounts"] for r in rows], [r["median_round_s"] for r in rows], marker="o", label=label(rows[0]))
        ax.set_xlabel("accounts")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("seconds per round (median 2..R)")
        ax.set_title(f"{ok_sweep[0]['limit'] // ok_sweep[0]['accounts']} images per account", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "sweep.png", dpi=90)
        plt.close(fig)
        made.append(out / "sweep.png")
    return made


# ---------------------------------------------------------------- the document


def render(meta: dict, compare: list[dict], sweep: list[dict], ratio_rows: list[dict], checks: list[dict], micro: list[dict], results: list[dict], images: list[str]) -> str:
    v = meta.get("versions", {})
    when = meta.get("date") or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [
        "# Performance: fedring and Flower side by side\n",
        f"Generated by `{meta.get('command', 'python -m benchmarks')}` on {when} (commit {meta.get('commit') or '?'}), "
        f"{fmt(meta.get('suite_seconds'), 0)} s for the whole suite.\n",
        f"Machine: {meta.get('cpu') or 'unknown CPU'}, {meta.get('cores')} cores, {meta.get('memory_gib')} GiB, {meta.get('os')}; "
        f"Python {meta.get('python')}, torch {v.get('torch')}, Flower {v.get('flwr')} (Ray {v.get('ray')}), Prefect {v.get('prefect')}. "
        f"Load average at start {fmt_load(meta.get('loadavg_start'))}, at end {fmt_load(meta.get('loadavg_end'))} "
        "(the machine is shared: read ratios measured minutes apart, not absolute seconds).\n",
        "## Workload\n",
        "Both systems train the same 421,834-parameter CNN (`fedring.ml.model`) from the same initial weights with FedAvg over all "
        "accounts every round: the same partitions (`fedring.split.split_indices`), the same local training (`fedring.ml.train.train`: "
        "Adam, learning rate, batch size, epochs, and the per-account, per-round seed `fedring.round.train.round_seed`), and evaluation of the "
        "global model on the full MNIST test set (10,000 images) after every round. A model travels as one float32 vector of every parameter "
        "and batch-norm buffer. fedring runs its Prefect flow (`flows.host.federated_training`, embedded accounts, local storage); Flower runs "
        "its in-process simulation (`flwr.simulation.run_simulation`, Ray backend) with `DefaultWorkflow` and FedAvg, and for the secure mode `SecAggPlusWorkflow` "
        "(every client shares with every other, `num_shares=1.0`, reconstruction threshold n//2+1, fedring's defaults) with `secaggplus_mod` "
        "on the clients.\n",
        "Each system runs at two settings, named in every table: *one client at a time* (fedring: one worker process; Flower: "
        "`client_resources.num_cpus` = all cores), torch on every core; and *N clients at once* with N = the cores (fedring: N worker "
        "processes, `execution.workers`; Flower: `num_cpus=1`), one core and one torch thread each. Ratios are given at equal settings and "
        "with each system at its fastest setting of the run (*each at its best*); the targets use the latter.\n",
        "Figures: *s/round* is the median wall time of rounds 2..R between consecutive evaluated global models (round 1 carries start-up); "
        "*total s* is the whole run including start-up (Prefect's ephemeral API server, Ray); *bytes/client/round* is what one client uploads "
        "per round (fedring: its manifest's `bytes_sent`; Flower: the serialized size of every reply message, all SecAgg+ stages); "
        "*client code s/round* sums, over the clients, the seconds spent in their own code in a round (fedring: the manifest's `train_seconds`; "
        "Flower: time inside the ClientApp for every message, SecAgg+ stages included), so *s/round* minus it is the system's own overhead "
        "on this machine; *CPU s* is the user + system CPU time of the job's whole process tree, which other people's load inflates far less "
        "than wall time; "
        "*× float32 update* divides bytes/client/round by the 4-byte-per-entry model vector; *host peak* is the peak RSS of the process running the host "
        "(fedring's host runs its embedded accounts in the same process; Flower's clients run in Ray workers); *all-process peak* is the peak "
        "of the summed RSS of that process and all its descendants (Prefect API server; Ray GCS, raylet and workers).\n",
    ]
    if compare:
        parts.append("## Side by side\n")
        for name, rows in _group(compare).items():
            parts.append(f"### {name}\n")
            parts.append(results_table(rows))
            parts.append("\nTest accuracy per round:\n\n" + accuracy_table(rows))
    if ratio_rows:
        parts.append("## Ratios fedring / Flower (same run, same mode)\n")
        parts.append("Below 1.0 means fedring is faster, smaller or leaner. Secure mode compares fedring secure with Flower SecAgg+.\n\n" + ratio_table(ratio_rows))
    if checks:
        parts.append("## Targets of issue 18\n")
        parts.append(targets_table(checks))
    for img, caption in (("accuracy.png", "Test accuracy per round"), ("seconds.png", "Seconds per round"), ("bytes.png", "Bytes a client sends per round")):
        if img in images:
            parts.append(f"\n![{caption}](img/{img})\n")
    if sweep:
        parts.append("## Scale sweep\n")
        parts.append(
            f"The same comparison with small partitions ({sweep[0]['limit'] // sweep[0]['accounts']} images per account) at "
            f"{', '.join(str(n) for n in sorted({r['accounts'] for r in sweep}))} accounts, to show how each system's per-round cost grows with the number of parties.\n\n"
        )
        parts.append(sweep_table(sweep))
        if "sweep.png" in images:
            parts.append("\n![Seconds per round against the number of accounts](img/sweep.png)\n")
    stages, fl_bytes, cpu = stage_table(results), flower_stage_bytes(results), cpu_table(compare + sweep)
    if stages or fl_bytes or cpu:
        parts.append("## Where the time and bytes go\n")
        if stages:
            parts.append("fedring stage seconds per round (median of rounds 2..R):\n\n" + stages)
        if fl_bytes:
            parts.append("\nFlower SecAgg+ bytes a client sends per round, by stage:\n\n" + fl_bytes)
        if cpu:
            parts.append("\n" + cpu)
    parts.append(
        "## Notes on the peer\n"
        "- Flower SecAgg+ uploads int64 values: its masked vector is about 2× the float32 update.\n"
        "- Flower SecAgg+ derives masks from numpy's ordinary generator seeded with 32 bits of the shared secret (not a cryptographic PRG), "
        "and a round with too few replies is dropped without an error.\n"
        "- Flower runs with `FLWR_TELEMETRY_ENABLED=0`; its round 1 includes Ray start-up, hence rounds 2..R for s/round.\n"
    )
    if any(_ok(r) and r.get("cpu_s") is None for r in compare + sweep):
        parts.append("\nA dash in *CPU s* or *client code s/round*: the job ran before the suite recorded that figure.\n")
    if any(res.get("backfilled") for res in results):
        parts.append(
            "\n*client code s/round* of jobs that ran before the suite recorded it was read afterwards from the same jobs' own files "
            "(fedring's round metrics `train_seconds`; the Flower ClientApp's per-message timing log).\n"
        )
    unavailable = [r for r in compare + sweep if not _ok(r)]
    if unavailable:
        parts.append("\n## Not measured in this run\n")
        parts.append("\n".join(f"- {label(r)}, {setting_name(r)}: {r.get('status')}" for r in unavailable) + "\n")
    if micro:
        parts.append("\n## Component benchmarks (`benchmarks/bench_*.py`)\n")
        by_script: dict[str, list[dict]] = {}
        for line in micro:
            by_script.setdefault(line["script"], []).append({k: v for k, v in line.items() if k not in ("bench", "script")})
        for script, lines in by_script.items():
            parts.append(f"\n`{script}`:\n\n```\n" + "\n".join(json.dumps(x) for x in lines) + "\n```\n")
    return "\n".join(parts)


def fmt_load(load: object) -> str:
    if isinstance(load, (list, tuple)) and load:
        return " / ".join(f"{x:.1f}" for x in load)
    return "?"


def write(out: Path, *, meta: dict, compare: list[dict], sweep: list[dict], ratio_rows: list[dict], checks: list[dict], micro: list[dict], results: list[dict]) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    img_dir = out / "img"
    img_dir.mkdir(exist_ok=True)
    made = plots(img_dir, compare, sweep)
    text = render(meta, compare, sweep, ratio_rows, checks, micro, results, [p.name for p in made])
    path = out / "report.md"
    path.write_text(text)
    return path


def publish(report_path: Path, docs: Path) -> Path:
    """Copy the report to ``docs/performance.md``; plots under 200 KB go to ``docs/img/``."""
    docs = Path(docs)
    (docs / "img").mkdir(parents=True, exist_ok=True)
    text = report_path.read_text()
    for img in sorted((report_path.parent / "img").glob("*.png")):
        if img.stat().st_size < MAX_DOC_IMAGE:
            shutil.copy2(img, docs / "img" / img.name)
        else:
            text = text.replace(f"(img/{img.name})", f"(../benchmarks/out/img/{img.name})")
    target = docs / "performance.md"
    target.write_text(text)
    return target
