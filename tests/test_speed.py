"""lenet.speed: the appendix's figures of the benchmark runs."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from lenet import records, speed


def test_process_parts_and_their_figure_come_from_the_benchmark_run():
    bench = records.load_benchmark("cpu-2core")
    parts = speed.process_parts(bench)
    runs = bench["process"]["fast"]["per_seed"]
    assert set(parts) <= set(speed.PROCESS_PARTS) and min(r["train_s"] for r in runs) <= parts["train_s"]
    assert sum(parts.values()) == pytest.approx(bench["process"]["fast"]["median_s"], rel=0.1)
    assert all(
        r["startup_s"] > 0 and sum(r[k] for k in parts) == pytest.approx(r.get("process_s", r.get("wall_s")))
        for r in runs
    )  # each process's parts add up to it
    fig = speed.plot_process_times(bench)
    ax = fig.axes[0]
    assert len(ax.patches) == 1 + len(parts)  # the source's bar, then one per part of the fast one
    assert ax.patches[0].get_width() == bench["process"]["source"]["median_s"]
    assert f"{bench['process']['ratio']:.1f} times faster" in ax.get_title()
    with pytest.raises(records.RecordError, match="no benchmark run 'nope'"):
        records.load_benchmark("nope")
    plt.close(fig)
