"""The benchmark report: a terminal table and a PNG plot, from the runner's JSON."""

import statistics

from .backends import CELLS

ORDER = ("numpy", "numba", "keras-cpu", "torch-cpu", "cudnn")


def _by_key(run):
    return {(r["cell"], tuple(r["config"]), r["mode"], r["backend"]): r for r in run["records"]}


def _cell_text(r):
    if r is None:
        return "-"
    if "skipped" in r:
        return "skipped"
    spread = (r["q3_ms"] - r["q1_ms"]) / r["median_ms"] * 50 if r["median_ms"] else 0
    return f"{r['median_ms']:.3g} ±{spread:.0f}%"


def table(report):
    """Median milliseconds per backend (± half the inter-quartile range, in % of the
    median), numba's speed-up on Keras CPU, and each backend's share of sgemm peak."""
    lines = [f"machine: {describe_machine(report['machine'])}; {report['date']}; "
             f"{report['wall_s']} s"]
    for run in report["runs"]:
        by = _by_key(run)
        backends = [b for b in ORDER if any(k[3] == b for k in by)]
        lines.append("")
        over = " (more threads than cores: oversubscribed)" if run.get("oversubscribed") else ""
        skipped = ", ".join(f"{k} ({v})" for k, v in run["skipped"].items()) or "none"
        lines.append(f"== {run['threads']} thread(s){over}; sgemm peak "
                     f"{run['sgemm_peak_gflops']:.0f} GFLOP/s; skipped: {skipped}")
        header = (f"{'cell':<9} {'B,T,I,H':<16} {'mode':<8} "
                  + " ".join(f"{b:>14}" for b in backends)
                  + f" {'numba/keras':>11} {'numba/numpy':>11}  % peak (numba, keras)")
        lines += [header, "-" * len(header)]
        for cell in CELLS:
            configs = sorted({k[1] for k in by if k[0] == cell}, key=lambda c: c[0] * c[3] ** 2)
            for config in configs:
                for mode in ("forward", "forward_backward"):
                    rows = {b: by.get((cell, config, mode, b)) for b in backends}
                    lines.append(
                        f"{cell:<9} {','.join(map(str, config)):<16} "
                        f"{'fwd' if mode == 'forward' else 'fwd+bwd':<8} "
                        + " ".join(f"{_cell_text(rows[b]):>14}" for b in backends)
                        + f" {_ratio(rows, 'keras-cpu', 'numba'):>11}"
                        f" {_ratio(rows, 'numpy', 'numba'):>11}  "
                        + _peaks(rows, run["sgemm_peak_gflops"]))
    return "\n".join(lines)


def describe_machine(m):
    """One line: CPU, vector width, cores, the BLAS kernels (older reports lack some)."""
    cores = f"{m['cores']} cores"
    if m.get("usable_cores") not in (None, m["cores"]):
        cores += f" ({m['usable_cores']} usable)"
    text = f"{m['cpu']}, {m.get('vector') or 'vector width not recorded'}, {cores}"
    blas = sorted({f"{b['internal_api']} {b.get('architecture')}" for b in m.get("blas", [])})
    if blas:
        text += "; BLAS " + ", ".join(blas)
    if m.get("OPENBLAS_CORETYPE"):
        text += f" (OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']})"
    return text


def _timed(r):
    return r is not None and "median_ms" in r


def speedup(slow, fast):
    """How many times faster record ``fast`` ran than record ``slow``: paired by round,
    the median of ``slow``'s turn median over ``fast``'s in the same round (the runner's
    ``turn_ms``); the ratio of the two medians for records without turns."""
    if "turn_ms" in slow and "turn_ms" in fast and len(slow["turn_ms"]) == len(fast["turn_ms"]):
        return statistics.median(s / f for s, f in zip(slow["turn_ms"], fast["turn_ms"]))
    return slow["median_ms"] / fast["median_ms"]


def _ratio(rows, slow, fast):
    """:func:`speedup` of ``rows[fast]`` on ``rows[slow]``, as text."""
    if not (_timed(rows.get(slow)) and _timed(rows.get(fast))):
        return "-"
    return f"{speedup(rows[slow], rows[fast]):.2f}x"


def _peaks(rows, peak):
    return ", ".join(f"{100 * rows[b]['gflops'] / peak:.0f}%" if _timed(rows.get(b)) else "-"
                     for b in ("numba", "keras-cpu"))


def plot(report, path):
    """Speed-up on Keras CPU (fwd+bwd, log scale) and % of sgemm peak, per config."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    cells = [c for c in CELLS if any(r["cell"] == c for run in runs for r in run["records"])]
    fig, axes = plt.subplots(2 * len(runs), len(cells), figsize=(5 * len(cells),
                             4.2 * 2 * len(runs)), squeeze=False)
    for i, run in enumerate(runs):
        by = _by_key(run)
        for j, cell in enumerate(cells):
            configs = sorted({k[1] for k in by if k[0] == cell}, key=lambda c: c[0] * c[3] ** 2)
            labels = ["\n".join(map(str, c)) for c in configs]
            for row, (title, value) in enumerate([
                    ("speed-up on Keras CPU, fwd+bwd", lambda r, k: speedup(k, r)),
                    ("% of sgemm peak, fwd+bwd",
                     lambda r, k, peak=run["sgemm_peak_gflops"]: 100 * r["gflops"] / peak)]):
                ax = axes[2 * i + row, j]
                width = 0.8 / len(ORDER)
                for n, backend in enumerate(ORDER):
                    xs, ys = [], []
                    for c_i, config in enumerate(configs):
                        r = by.get((cell, config, "forward_backward", backend))
                        k = by.get((cell, config, "forward_backward", "keras-cpu"))
                        if _timed(r) and _timed(k):
                            xs.append(c_i + (n - len(ORDER) / 2) * width)
                            ys.append(value(r, k))
                    if xs:
                        ax.bar(xs, ys, width, label=backend)
                ax.set_xticks(range(len(configs)), labels, fontsize=7)
                ax.set_title(f"{cell}, {run['threads']} thread(s): {title}", fontsize=9)
                if row == 0:
                    ax.set_yscale("log")
                    ax.axhline(1, color="grey", lw=0.8)
                ax.legend(fontsize=7)
    fig.suptitle(f"{report['machine']['cpu']} ({report['machine']['cores']} cores), "
                 f"{report['date']}; config = B, T, I, H", fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.98))   # room for the suptitle
    fig.savefig(path, dpi=110)
    plt.close(fig)




def markdown(report, threads):
    """The README's table: fwd and fwd+bwd medians (ms) with ``threads`` threads."""
    run = next(r for r in report["runs"] if r["threads"] == threads)
    by = _by_key(run)
    backends = [b for b in ORDER if any(k[3] == b and _timed(v) for k, v in by.items())]
    lines = ["| cell | B, T, I, H | " + " | ".join(
        f"{b} fwd / fwd+bwd (ms)" for b in backends) + " | numba ÷ keras-cpu, fwd / fwd+bwd |",
        "| --- | --- | " + " | ".join("---:" for _ in backends) + " | ---: |"]
    for cell in CELLS:
        configs = sorted({k[1] for k in by if k[0] == cell}, key=lambda c: c[0] * c[3] ** 2)
        for config in configs:
            cells = []
            for b in backends:
                f, fb = (by.get((cell, config, m, b)) for m in ("forward", "forward_backward"))
                cells.append(f"{f['median_ms']:.3g} / {fb['median_ms']:.3g}"
                             if _timed(f) and _timed(fb) else "skipped")
            speed = [_ratio({k: by.get((cell, config, m, k)) for k in ORDER}, "keras-cpu",
                            "numba") for m in ("forward", "forward_backward")]
            lines.append(f"| {cell} | {', '.join(map(str, config))} | " + " | ".join(cells)
                         + f" | {speed[0]} / {speed[1]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys
    with open(sys.argv[1]) as f:
        data = json.load(f)
    print(markdown(data, int(sys.argv[2]) if len(sys.argv) > 2 else 2))
