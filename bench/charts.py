"""The bench's pictures, from the raw figures in bench/out: per-event latency CDFs, CPU per request and per
event, and resident memory against concurrent streams. Usage: python charts.py OUT_DIR CHART_DIR"""
import csv
import glob
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

NAMES = {"direct": "direct (no proxy)", "kgb": "kgb (JSONL log)", "kgb-nolog": "kgb (--log none)",
         "nginx": "nginx", "haproxy": "HAProxy", "aiohttp": "aiohttp gateway", "litellm": "LiteLLM proxy"}
COLORS = {"direct": "#888888", "kgb": "#d62728", "kgb-nolog": "#ff9896", "nginx": "#2ca02c",
          "haproxy": "#1f77b4", "aiohttp": "#9467bd", "litellm": "#8c564b"}
ORDER = ["direct", "kgb", "kgb-nolog", "nginx", "haproxy", "aiohttp", "litellm"]
SSE_EVENTS = 26  # events in each SSE answer of the throughput scenario (20 deltas and 6 framing events)


def rows(path):
    return list(csv.DictReader(open(path), delimiter="\t"))


def latency_cdf(out, charts):
    counts = sorted({int(r["streams"]) for r in rows(f"{out}/latency.tsv")})
    figure, axes = plt.subplots(1, len(counts), figsize=(6 * len(counts), 4.5), squeeze=False)
    for axis, streams in zip(axes[0], counts):
        for target in ORDER:
            samples = sorted(float(line) for path in glob.glob(f"{out}/samples-{streams}-{target}-[0-9]*.txt")
                             for line in open(path) if line.strip())
            if not samples:
                continue
            fractions = [(i + 1) / len(samples) for i in range(len(samples))]
            axis.plot(samples, fractions, label=NAMES[target], color=COLORS[target],
                      linestyle="--" if target == "direct" else "-", linewidth=1.5)
        axis.set_xscale("log")
        axis.set_xlabel("send → arrival, µs (log scale)")
        axis.set_ylabel("fraction of events")
        axis.set_title(f"Per-event latency, {streams:,} concurrent streams")
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    figure.savefig(f"{charts}/latency_cdf.png", dpi=110)
    plt.close(figure)


def cpu_bars(out, charts):
    data = [r for r in rows(f"{out}/throughput.tsv") if r["cpu_us"] not in ("-", "")]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, scenario, divide, label in ((axes[0], "json", 1, "CPU µs per small JSON exchange"),
                                          (axes[1], "sse", SSE_EVENTS, "CPU µs per SSE event")):
        targets = [t for t in ORDER if any(r["target"] == t and r["scenario"] == scenario for r in data)]
        medians, lows, highs = [], [], []
        for target in targets:
            values = [float(r["cpu_us"]) / divide for r in data if r["target"] == target and r["scenario"] == scenario]
            middle = statistics.median(values)
            medians.append(middle)
            lows.append(middle - min(values))
            highs.append(max(values) - middle)
        bars = axis.bar([NAMES[t] for t in targets], medians, color=[COLORS[t] for t in targets],
                        yerr=[lows, highs], capsize=4)
        for bar, value in zip(bars, medians):
            axis.annotate(f"{value:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        axis.set_title(f"{label} (median; bars: min–max over rounds)", fontsize=10)
        # Log scale: LiteLLM's figures are hundreds of times the others'.
        axis.set_yscale("log")
        axis.set_ylabel("µs of the proxy's CPU (log scale)")
        axis.tick_params(axis="x", labelrotation=20, labelsize=8)
        axis.grid(True, axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(f"{charts}/cpu.png", dpi=110)
    plt.close(figure)


def rss_streams(out, charts):
    figure, axis = plt.subplots(figsize=(7.5, 4.5))
    data = [line.split("\t") for line in open(f"{out}/scale.tsv").read().splitlines()]
    for target in ORDER:
        points = [(int(r[1]), int(r[2]) / 1024) for r in data if r[0] == target and r[1] != "hold"]
        if points:
            axis.plot(*zip(*points), marker="o", markersize=3, label=NAMES[target], color=COLORS[target])
    axis.set_xlabel("concurrent SSE streams held open (one event a second each)")
    axis.set_ylabel("resident memory, MiB")
    axis.set_title("Proxy RSS against concurrent streams")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(f"{charts}/rss_streams.png", dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    out_dir, chart_dir = sys.argv[1], sys.argv[2]
    latency_cdf(out_dir, chart_dir)
    cpu_bars(out_dir, chart_dir)
    rss_streams(out_dir, chart_dir)
