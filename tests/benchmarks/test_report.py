"""The benchmark suite's figures and report from synthetic results (no Flower, no training)."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import report
from benchmarks.compare import (
    NOT_AVAILABLE,
    TreeSampler,
    _descendants,
    best_ratios,
    check_targets,
    process_label,
    ratios,
    summarise,
    training_makespan,
)

UPDATE = 4 * 421_834 + 4 * 200  # any positive size works; the code divides by it


def result(system, mode, *, seconds, acc, sent, accounts=10, scheme="iid", peak=1000.0, rounds=3):
    spec = {"system": system, "mode": mode, "scheme": scheme, "accounts": accounts, "limit": 20000, "rounds": rounds}
    if scheme == "dirichlet":
        spec["alpha"] = 0.5
    return {
        "spec": spec,
        "total_seconds": sum(seconds) + 10.0,
        "startup_seconds": 10.0,
        "rounds": [
            {"round": i + 1, "seconds": s, "accuracy": a, "loss": 1.0, "bytes_per_client": sent, "client_seconds": 0.5 * s}
            for i, (s, a) in enumerate(zip(seconds, acc))
        ],
        "update_bytes": UPDATE,
        "completed": True,
        "host_peak_mb": peak,
        "tree_peak_mb": 2 * peak,
        "cpu_seconds": {"job process": sum(seconds), "prefect API server": 3.0},
    }


def rows():
    return [
        summarise(result("fedring", "plain", seconds=[30.0, 10.0, 12.0], acc=[0.9, 0.95, 0.97], sent=UPDATE)),
        summarise(result("flower", "plain", seconds=[50.0, 20.0, 16.0], acc=[0.9, 0.95, 0.968], sent=UPDATE + 500)),
        summarise(result("fedring", "secure", seconds=[30.0, 11.0, 13.0], acc=[0.9, 0.95, 0.97], sent=1.6 * UPDATE, peak=500.0)),
        summarise(result("flower", "secure", seconds=[50.0, 22.0, 18.0], acc=[0.9, 0.95, 0.96], sent=2.0 * UPDATE)),
    ]


def test_summary_takes_the_median_of_rounds_two_on_and_the_mean_bytes():
    row = summarise(result("fedring", "plain", seconds=[100.0, 10.0, 14.0, 12.0], acc=[0.5, 0.6, 0.7, 0.8], sent=UPDATE, rounds=4))
    assert row["median_round_s"] == 12.0  # round 1 (start-up) left out
    assert row["final_accuracy"] == 0.8
    assert row["expansion"] == pytest.approx(1.0)
    assert row["accuracy_per_round"] == [0.5, 0.6, 0.7, 0.8]
    assert row["status"] == "ok"
    assert row["client_round_s"] == 6.0  # median of 5.0, 7.0, 6.0
    assert row["cpu_s"] == pytest.approx(136.0 + 3.0)


def test_single_round_runs_use_round_one():
    row = summarise(result("flower", "plain", seconds=[40.0], acc=[0.9], sent=UPDATE, rounds=1))
    assert row["median_round_s"] == 40.0


def test_unavailable_and_failed_jobs_carry_no_figures():
    spec = {"system": "fedring", "mode": "secure", "scheme": "iid", "accounts": 10, "limit": 20000, "rounds": 3}
    row = summarise({"spec": spec, "unavailable": f"{NOT_AVAILABLE}: plaintext rounds"})
    assert row["status"].startswith(NOT_AVAILABLE) and "median_round_s" not in row
    row = summarise({"spec": spec, "error": "RuntimeError: boom"})
    assert row["status"] == "error: RuntimeError: boom"


def test_ratios_pair_each_fedring_mode_with_the_same_flower_mode():
    out = {r["mode"]: r for r in ratios(rows())}
    assert out["plain"]["median_round_s"] == pytest.approx(11.0 / 18.0)
    assert out["secure"]["median_round_s"] == pytest.approx(12.0 / 20.0)
    assert out["secure"]["expansion"] == pytest.approx(0.8)
    assert out["secure"]["host_peak_mb"] == pytest.approx(0.5)
    assert out["plain"]["accuracy_pp"] == pytest.approx(0.2)
    assert out["plain"]["client_round_s"] == pytest.approx(11.0 / 18.0)


def test_ratios_are_none_when_a_side_is_missing():
    rs = rows()
    spec = {"system": "fedring", "mode": "secure", "scheme": "iid", "accounts": 10, "limit": 20000, "rounds": 3}
    rs[2] = summarise({"spec": spec, "unavailable": NOT_AVAILABLE})
    secure = next(r for r in ratios(rs) if r["mode"] == "secure")
    assert secure["median_round_s"] is None and secure["accuracy_pp"] is None
    checks = check_targets(best_ratios(rs))
    assert {c["status"] for c in checks if "secure" in c["where"]} == {NOT_AVAILABLE}


def test_settings_are_never_mixed():
    rs = rows() + [summarise(result("flower", "plain", seconds=[1.0, 1.0, 1.0], acc=[0.1] * 3, sent=1, scheme="dirichlet"))]
    out = ratios(rs)
    assert len(out) == 2  # the dirichlet Flower row has no fedring partner
    assert all(r["scheme"] == "iid" for r in out)


def test_each_system_at_its_best_setting_and_at_equal_settings():
    slow = [dict(r, at_once=1) for r in rows()]
    fast = [dict(r, at_once=2, median_round_s=r["median_round_s"] * (0.5 if r["system"] == "fedring" else 0.8)) for r in rows()]
    fast[3]["median_round_s"] = 100.0  # Flower SecAgg+ is faster one client at a time

    best = {r["mode"]: r for r in best_ratios(slow + fast)}
    equal = {(r["mode"], r["fedring_at_once"]): r for r in ratios(slow + fast)}

    assert best["secure"]["kind"] == "each at its best"
    assert (best["secure"]["fedring_at_once"], best["secure"]["flower_at_once"]) == (2, 1)
    assert best["secure"]["median_round_s"] == pytest.approx(12.0 * 0.5 / 20.0)
    assert (best["plain"]["fedring_at_once"], best["plain"]["flower_at_once"]) == (2, 2)
    assert equal[("secure", 2)]["median_round_s"] == pytest.approx(12.0 * 0.5 / 100.0)
    assert equal[("secure", 1)]["median_round_s"] == pytest.approx(12.0 / 20.0)
    assert {r["kind"] for r in equal.values()} == {"equal settings"}
    assert report.settings_name(best["secure"]) == "each at its best: fedring, 2 clients at once, Flower, one client at a time"


def test_targets_report_met_and_missed():
    rs = rows()
    for r in rs:
        r["limit"] = None  # the s/round target is for full MNIST
    rs[2]["median_round_s"] = 30.0  # slower than Flower SecAgg+ (20.0)
    rs[0]["final_accuracy"] = rs[1]["final_accuracy"] + 0.0005  # plain: 0.05 pp apart
    checks = {(c["target"], c["where"].split(" (")[0].split(", ")[-1]): c for c in check_targets(best_ratios(rs))}
    assert checks[("secure s/round ratio", "secure")]["status"] == "missed"
    assert checks[("secure s/round ratio", "secure")]["value"] == pytest.approx(1.5)
    assert checks[("secure expansion ratio", "secure")]["status"] == "met"
    assert checks[("accuracy difference (pp, absolute)", "plain")]["status"] == "met"
    assert checks[("accuracy difference (pp, absolute)", "secure")]["status"] == "missed"  # 1.0 pp


def test_the_training_floor_is_fedrings_training_on_its_workers_against_the_peers_round():
    rs = [dict(r, limit=None, at_once=2) for r in rows()]
    fed, peer = rs[2], rs[3]
    fed["training_makespan_s"], peer["median_round_s"] = 18.0, 20.0  # no fedring of this setting beats 0.9
    [check] = [c for c in check_targets(best_ratios(rs)) if c["target"] == "secure s/round ratio"]
    assert check["training_floor"] == pytest.approx(0.9)
    assert check["value"] == pytest.approx(12.0 / 20.0)
    fed["training_makespan_s"] = None  # a job without the figure gives no floor
    [check] = [c for c in check_targets(best_ratios(rs)) if c["target"] == "secure s/round ratio"]
    assert check["training_floor"] is None
    assert "| training alone |" in report.targets_table([check])


@pytest.mark.parametrize("seconds, workers, floor", [
    ([9.0] * 5, 2, 27.0),  # five equal trainings on two workers: one worker runs three
    ([9.0] * 10, 2, 45.0),  # ten: five each
    ([30.0, 1.0, 1.0], 2, 30.0),  # one long training decides
    ([4.0, 4.0, 4.0, 4.0], 4, 4.0),
    ([5.0, 3.0, 2.0], 1, 10.0),
])
def test_the_training_makespan_is_a_lower_bound_of_any_schedule(seconds, workers, floor):
    assert training_makespan(seconds, workers) == pytest.approx(floor)


@given(st.lists(st.floats(0.1, 100.0), min_size=1, max_size=7), st.integers(1, 3))
def test_no_schedule_of_the_trainings_beats_the_makespan_bound(seconds, workers):
    best = min(max(sum(s for s, w in zip(seconds, assign) if w == k) for k in range(workers))
               for assign in itertools.product(range(workers), repeat=len(seconds)))
    assert training_makespan(seconds, workers) <= best + 1e-9


def test_summary_takes_the_training_makespan_of_rounds_two_on():
    res = result("fedring", "secure", seconds=[30.0, 10.0, 12.0], acc=[0.9] * 3, sent=UPDATE)
    for r, spent in zip(res["rounds"], ([20.0] * 5, [6.0] * 5, [8.0] * 5)):
        r["train_seconds"] = spent
    res["spec"]["at_once"] = 2
    assert summarise(res)["training_makespan_s"] == pytest.approx(21.0)  # median of 18 and 24


def test_report_has_tables_plots_and_publishes(tmp_path):
    compare = rows()
    sweep = []
    for n in (3, 10, 30):
        for system, mode, s in (("fedring", "plain", 1.0), ("flower", "plain", 2.0), ("fedring", "secure", 1.5), ("flower", "secure", 3.0)):
            r = summarise(result(system, mode, seconds=[5.0, s * n / 3, s * n / 3], acc=[0.8] * 3, sent=UPDATE, accounts=n))
            r["limit"] = 600 * n
            sweep.append(r)
    meta = {"command": "python -m benchmarks", "cores": 2, "versions": {"flwr": "1.42.0"}, "loadavg_start": (1.0, 1.0, 1.0)}
    rr = best_ratios(compare) + ratios(compare) + ratios(sweep)
    path = report.write(tmp_path / "out", meta=meta, compare=compare, sweep=sweep, ratio_rows=rr, checks=check_targets(rr), micro=[{"bench": "micro", "script": "bench_x.py", "v": 1}], results=[])
    text = path.read_text()
    assert "| fedring | secure |" in text and "| Flower | SecAgg+ |" in text
    assert "CPU seconds by process" in text and "prefect API server 3" in text
    assert "## Ratios fedring / Flower" in text and "## Scale sweep" in text and "bench_x.py" in text
    assert "(img/accuracy.png)" in text and "(img/sweep.png)" in text
    for png in ("accuracy.png", "seconds.png", "bytes.png", "sweep.png"):
        assert (tmp_path / "out" / "img" / png).stat().st_size > 1000
    docs = report.publish(path, tmp_path / "docs")
    assert docs.read_text() == text
    assert (tmp_path / "docs" / "img" / "sweep.png").exists()


def test_report_says_what_was_not_measured(tmp_path):
    rs = rows()
    spec = {"system": "fedring", "mode": "secure", "scheme": "iid", "accounts": 10, "limit": 20000, "rounds": 3}
    rs[2] = summarise({"spec": spec, "unavailable": f"{NOT_AVAILABLE}: plaintext rounds"})
    path = report.write(tmp_path, meta={}, compare=rs, sweep=[], ratio_rows=ratios(rs), checks=check_targets(ratios(rs)), micro=[], results=[])
    text = path.read_text()
    assert "## Not measured in this run" in text and "fedring secure, IID, 10 accounts" in text


def test_tree_sampler_sees_this_process():
    assert os.getpid() in _descendants(os.getpid())
    with TreeSampler(interval=0.01) as s:
        sum(i * i for i in range(200_000))
    assert s.peak_kb > 0
    assert s.cpu_seconds()["job process"] > 0


def test_process_labels():
    assert process_label("python", "python -m uvicorn --factory prefect.server.api.server:create_app") == "prefect API server"
    assert process_label("ray::ClientAppActor", "ray::ClientAppActor.run") == "ray workers (Flower clients)"
    assert process_label("raylet", "/x/ray/core/src/ray/raylet/raylet --x") == "ray services"
    assert process_label("python", "python -m benchmarks.compare") == "python"
    worker = "python -B -c from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=28, pipe_handle=37) --multiprocessing-fork"
    assert process_label("python", worker) == "dask workers (fedring client stages)"
