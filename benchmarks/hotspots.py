"""Benchmark: LISA + Gi* with 999 permutations, zicht against esda, in fresh processes.

1. National buurt set (../shared/data/nl_buurten_2015.gpkg, 12,229 buurten, queen
   contiguity with islands joined, inhabitants as the variable). Every measurement
   runs in a new Python process, so esda pays its numba compilation as a user does
   on every new run; a second, warm call is timed too. Loading data and building the
   weights is not timed (it is the same for both).
2. It checks that the statistics agree (I_i and Gi* z to 1e-9) and reports how the
   pseudo p-values compare, and exits non-zero if they do not agree.
3. Scaling: synthetic 100 m grids (queen contiguity) from 25,000 to 400,000 cells.

4. The permutation pass alone: the fused numba loop against the numpy gathers (same
   counts), and LISA + Gi* warm with fixed and with sequential permutations.

Goals (issues 4 and 17): at least 5x faster than esda in a fresh process; linear
cost; LISA + Gi* with the sequential inference under 0.2 s warm.

    python -m benchmarks.hotspots [--skip-grid]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PERMUTATIONS = 999
SEED = 12345


def _national_inputs():
    import geopandas as gpd

    from benchmarks.common import NATIONAL_2015
    from zicht.boundaries import read_boundaries
    from zicht.spatial.weights import contiguity

    areas = read_boundaries(NATIONAL_2015).areas
    raw = gpd.read_file(NATIONAL_2015, columns=["BU_CODE", "AANT_INW"]).set_index("BU_CODE")
    y = raw["AANT_INW"].reindex(areas.index).astype(float)
    y = y.where(y >= 0).dropna()
    return y, contiguity(areas.loc[y.index])


def worker(kind: str, out: Path) -> None:
    """Run one measurement in this (fresh) process and write the result as JSON/NPY."""
    import warnings

    warnings.simplefilter("ignore")
    y, graph = _national_inputs()
    timings = {}
    if kind == "zicht":
        from zicht.spatial.hotspots import getis_ord, local_moran, local_statistics

        for label in ("fresh", "warm"):
            t = time.perf_counter()
            lisa = local_moran(y, graph, PERMUTATIONS, SEED)
            timings[f"lisa_{label}"] = time.perf_counter() - t
            t = time.perf_counter()
            gi = getis_ord(y, graph, PERMUTATIONS, SEED)
            timings[f"gi_{label}"] = time.perf_counter() - t
        t = time.perf_counter()
        local_statistics(y, graph, PERMUTATIONS, SEED)
        timings["both_one_pass"] = time.perf_counter() - t
        timings.update(_kernel_timings(y, graph))
        np.savez(
            out.with_suffix(".npz"),
            ids=y.index.to_numpy(dtype=str),
            I=lisa["I"].to_numpy(),
            p_lisa=lisa["p"].to_numpy(),
            z=gi["z"].to_numpy(),
            p_gi=gi["p"].to_numpy(),
        )
    else:
        import esda

        w = graph.to_W()
        values = y.loc[w.id_order].to_numpy()
        stat = kind.split("-")[1]
        for label in ("fresh", "warm"):
            t = time.perf_counter()
            if stat == "lisa":
                result = esda.Moran_Local(values, w, permutations=PERMUTATIONS, seed=SEED)
            else:
                result = esda.G_Local(
                    values, w, transform="B", star=True, permutations=PERMUTATIONS, seed=SEED
                )
            timings[f"{stat}_{label}"] = time.perf_counter() - t
        arrays = {"ids": np.asarray(w.id_order, dtype=str), "p": result.p_sim}
        arrays["stat"] = result.Is if stat == "lisa" else result.Zs
        np.savez(out.with_suffix(".npz"), **arrays)
    out.write_text(json.dumps(timings))


def _kernel_timings(y, graph) -> dict:  # type: ignore[no-untyped-def]
    """The permutation pass alone (fused numba loop against numpy gathers, 999
    permutations, exact same counts), and LISA + Gi* warm with fixed and with
    sequential permutations."""
    from zicht.spatial.hotspots import _neighbours, local_statistics
    from zicht.spatial.permutation import permutation_counts, permutation_counts_numpy

    nb = _neighbours(graph, y.index).binary()
    values = y.to_numpy()
    observed = nb.matrix() @ values
    out = {"gathers": int(PERMUTATIONS * nb.cardinality.sum())}
    for name, kernel in (
        ("kernel_numpy", permutation_counts_numpy),
        ("kernel_fused", permutation_counts),
    ):
        kernel(values, nb, PERMUTATIONS, SEED, observed, False)  # compiled and warm
        t = time.perf_counter()
        counts = kernel(values, nb, PERMUTATIONS, SEED, observed, False)
        out[name] = time.perf_counter() - t
        out[name + "_sum"] = int(counts[0].sum())
    for name, inference in (("both_fixed_warm", "permutation"), ("both_adaptive_warm", "adaptive")):
        t = time.perf_counter()
        local_statistics(y, graph, PERMUTATIONS, SEED, inference=inference)
        out[name] = time.perf_counter() - t
    return out


def grid_worker(side: int, out: Path) -> None:
    """Time LISA + Gi* on a side x side grid of 100 m cells (queen contiguity)."""
    import pandas as pd
    from libpysal.graph import Graph

    from zicht.spatial.hotspots import local_statistics

    n = side * side
    r, c = np.divmod(np.arange(n), side)
    focal, neighbor = [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == dc == 0:
                continue
            ok = (r + dr >= 0) & (r + dr < side) & (c + dc >= 0) & (c + dc < side)
            focal.append(np.flatnonzero(ok))
            neighbor.append(np.flatnonzero(ok) + dr * side + dc)
    focal, neighbor = np.concatenate(focal), np.concatenate(neighbor)
    order = np.lexsort((neighbor, focal))
    ids = np.array([f"g{i:07d}" for i in range(n)])
    graph = Graph.from_arrays(ids[focal[order]], ids[neighbor[order]], np.ones(len(order)))
    rng = np.random.default_rng(0)
    values = rng.poisson(5.0, n).astype(float)
    values[(np.abs(r - side // 3) < side // 20) & (np.abs(c - side // 3) < side // 20)] += 6
    y = pd.Series(values, index=ids)
    t = time.perf_counter()
    local_statistics(y, graph, PERMUTATIONS, SEED)
    first = time.perf_counter() - t
    t = time.perf_counter()
    local_statistics(y, graph, PERMUTATIONS, SEED)
    out.write_text(json.dumps({"n": n, "seconds": first, "warm": time.perf_counter() - t}))


def _fresh(args: list[str], tmp: Path, name: str) -> tuple[dict, float]:
    out = tmp / f"{name}.json"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.hotspots", *args, "--out", str(out)], check=True
    )
    return json.loads(out.read_text()), time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--grid", type=int)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--skip-grid", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.out)
        return 0
    if args.grid:
        grid_worker(args.grid, args.out)
        return 0

    from benchmarks.common import require_national_data

    require_national_data()
    try:
        import numba  # noqa: F401

        esda_note = "esda with numba (as users install it)"
    except ImportError:
        esda_note = "esda WITHOUT numba: install numba for a fair comparison"
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ours, ours_wall = _fresh(["--worker", "zicht"], tmp, "zicht")
        esda_lisa, lisa_wall = _fresh(["--worker", "esda-lisa"], tmp, "esda-lisa")
        esda_gi, gi_wall = _fresh(["--worker", "esda-gi"], tmp, "esda-gi")
        z = np.load(tmp / "zicht.npz")
        el, eg = np.load(tmp / "esda-lisa.npz"), np.load(tmp / "esda-gi.npz")
        pos = {code: i for i, code in enumerate(z["ids"])}
        order_l = np.array([pos[c] for c in el["ids"]])
        order_g = np.array([pos[c] for c in eg["ids"]])
        i_diff = np.nanmax(np.abs(z["I"][order_l] - el["stat"]))
        z_diff = np.nanmax(np.abs(z["z"][order_g] - eg["stat"]))

        print(f"National buurt set, LISA + Gi*, {PERMUTATIONS} permutations ({esda_note})")
        print(f"{'':24}{'fresh process':>15}{'warm':>10}")
        print(
            f"{'esda Moran_Local':24}{esda_lisa['lisa_fresh']:>13.2f} s"
            f"{esda_lisa['lisa_warm']:>8.2f} s"
        )
        print(
            f"{'esda G_Local (star)':24}{esda_gi['gi_fresh']:>13.2f} s{esda_gi['gi_warm']:>8.2f} s"
        )
        print(f"{'zicht local_moran':24}{ours['lisa_fresh']:>13.2f} s{ours['lisa_warm']:>8.2f} s")
        print(f"{'zicht getis_ord':24}{ours['gi_fresh']:>13.2f} s{ours['gi_warm']:>8.2f} s")
        print(f"{'zicht local_statistics':24}{ours['both_one_pass']:>13.2f} s  (both, one pass)")
        esda_fresh = esda_lisa["lisa_fresh"] + esda_gi["gi_fresh"]
        ours_fresh = ours["lisa_fresh"] + ours["gi_fresh"]
        print(
            f"speed-up in a fresh process: {esda_fresh / ours_fresh:.1f}x separately, "
            f"{esda_fresh / ours['both_one_pass']:.1f}x in one pass (goal >= 5x)"
        )
        warm = (esda_lisa["lisa_warm"] + esda_gi["gi_warm"]) / (ours["lisa_warm"] + ours["gi_warm"])
        print(f"speed-up warm: {warm:.1f}x")
        print(
            f"whole processes incl. imports and data: zicht {ours_wall:.1f} s, "
            f"esda {lisa_wall + gi_wall:.1f} s"
        )
        print(
            f"max |I_i - esda| = {i_diff:.2e}, max |Gi* z - esda| = {z_diff:.2e} (must be <= 1e-9)"
        )
        gathers = ours["gathers"]
        print(
            f"permutation pass, {gathers / 1e6:.0f}M neighbour gathers: numpy "
            f"{ours['kernel_numpy']:.3f} s ({ours['kernel_numpy'] / gathers * 1e9:.1f} ns per "
            f"gather), fused numba loop {ours['kernel_fused']:.3f} s "
            f"({ours['kernel_fused'] / gathers * 1e9:.1f} ns per gather); same counts: "
            f"{ours['kernel_numpy_sum'] == ours['kernel_fused_sum']}"
        )
        print(
            f"LISA + Gi* warm: {ours['both_fixed_warm']:.3f} s with 999 permutations, "
            f"{ours['both_adaptive_warm']:.3f} s with sequential permutations (the default; "
            "goal < 0.2 s)"
        )
        ok &= ours["kernel_numpy_sum"] == ours["kernel_fused_sum"]
        for name, ours_p, theirs_p in (
            ("LISA", z["p_lisa"][order_l], el["p"]),
            ("Gi*", z["p_gi"][order_g], eg["p"]),
        ):
            diff = ours_p - theirs_p
            print(
                f"{name} pseudo p: mean difference {np.nanmean(diff):+.4f}, "
                f"mean |difference| {np.nanmean(np.abs(diff)):.4f}, "
                f"correlation {np.corrcoef(ours_p, theirs_p)[0, 1]:.4f}"
            )
            ok &= abs(np.nanmean(diff)) < 0.01
        ok &= i_diff <= 1e-9 and z_diff <= 1e-9

        if not args.skip_grid:
            print("\nScaling on 100 m grids (queen), LISA + Gi* in one pass, fresh processes:")
            for side in (158, 224, 316, 447, 632):
                result, _ = _fresh(["--grid", str(side)], tmp, f"grid{side}")
                per_area = result["warm"] / result["n"] * 1e6
                print(
                    f"  {result['n']:>8,} cells: {result['seconds']:6.2f} s first call, "
                    f"{result['warm']:6.2f} s warm ({per_area:.1f} us per cell)"
                )
    print("\nOK: statistics agree with esda" if ok else "\nFAILED: statistics differ from esda")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
