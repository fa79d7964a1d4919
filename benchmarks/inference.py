"""Simulation study: hotspot inference where the truth is known.

On a 100 x 100 lattice (queen contiguity) and on the real national buurt graph
(../shared/data/nl_buurten_2015.gpkg, 12,229 buurten; skipped, saying so, when absent):

- pure noise: normal, and Poisson counts with means 0.05, 0.1, 0.3 and 1 (mostly
  zeros, as cannabis sites or convictions per buurt);
- planted blocks: 5x5, 10x10 and 20x20 cells (on the buurt graph: an area and its
  neighbours up to order 1, 2 and 3) shifted by 1, 2 and 4 standard deviations in
  normal noise, and a Poisson relative risk of 2 and 4 on a mean of 1.

For each Gi* inference method (``adaptive``: the default, sequential permutations;
``permutation``: 999 fixed, mid-p; ``analytic``: the normal p-value of z, as ArcGIS;
``esda``: esda's folded pseudo p-value, doubled, as zicht used before), averaged over
replicates: the share of null areas with p <= 0.05 before correction (should be about
0.05), the false discovery proportion after Benjamini-Hochberg at 0.05 (at most 0.05 on
average; a null is an area whose neighbourhood does not touch the block), the power
(share of block areas labelled hot at 95%), and the time.

    python -m benchmarks.inference [--replicates 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from zicht.spatial.hotspots import adjust_pvalues, getis_ord, two_sided

METHODS = ("adaptive", "permutation", "analytic", "esda")
ALPHA = 0.05


def lattice(side: int = 100):  # type: ignore[no-untyped-def]
    """A side x side lattice with queen contiguity (ids 0 ... in row-major order) and
    the planted blocks at row and column 40."""
    from libpysal.graph import Graph
    from libpysal.weights import lat2W

    graph = Graph.from_W(lat2W(side, side, rook=False))
    r, c = np.divmod(np.arange(side * side), side)
    blocks = {}
    for size in (5, 10, 20):
        inside = (r >= 40) & (r < 40 + size) & (c >= 40) & (c < 40 + size)
        blocks[f"{size}x{size}"] = inside
    return pd.Index(graph.unique_ids), graph, blocks


def buurt_graph():  # type: ignore[no-untyped-def]
    from benchmarks.common import NATIONAL_2015
    from zicht.boundaries import read_boundaries
    from zicht.spatial.weights import contiguity

    areas = read_boundaries(NATIONAL_2015).areas
    graph = contiguity(areas)
    ids = pd.Index(graph.unique_ids)
    adjacency = graph.adjacency
    neighbours = adjacency.groupby(level=0).apply(lambda s: s.index.get_level_values(1).tolist())
    centre = ids[len(ids) // 2]
    blocks, ring = {}, {centre}
    for order in (1, 2, 3):
        ring = ring | {n for a in ring for n in neighbours.get(a, [])}
        blocks[f"order {order} ({len(ring)} buurten)"] = ids.isin(sorted(ring))
    return ids, graph, blocks


def gi_pvalues(y: pd.Series, graph, method: str, seed: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    if method == "esda":
        gi = getis_ord(y, graph, 999, seed, inference="permutation")
        gi["p_two_sided"] = two_sided(gi["p"].to_numpy())
        gi["p_adjusted"] = adjust_pvalues(gi["p_two_sided"].to_numpy())
        return gi
    return getis_ord(y, graph, 999, seed, inference=method)


def evaluate(
    ids, graph, values: np.ndarray, block: np.ndarray | None, method: str, seed: int
) -> dict:  # type: ignore[no-untyped-def]
    y = pd.Series(values, index=ids)
    start = time.perf_counter()
    gi = gi_pvalues(y, graph, method, seed)
    seconds = time.perf_counter() - start
    null = ~block if block is not None else np.ones(len(ids), dtype=bool)
    p = gi["p_two_sided"].to_numpy()
    found = (gi["p_adjusted"].to_numpy() <= ALPHA) & np.isfinite(p)
    hot = found & (gi["z"].to_numpy() > 0)
    out = {
        "raw": float(np.nanmean(p[null] <= ALPHA)),
        "fdp": float((found & null).sum() / max(found.sum(), 1)),
        "seconds": seconds,
    }
    out["power"] = float(hot[block].mean()) if block is not None else np.nan
    return out


def scenarios(blocks: dict) -> list[tuple[str, str, object]]:  # type: ignore[no-untyped-def]
    out: list[tuple[str, str, object]] = [("noise", "normal", None)]
    out += [("noise", f"Poisson mean {m}", m) for m in (0.05, 0.1, 0.3, 1.0)]
    for name in blocks:
        out += [("block", f"{name}, +{s:g} SD", (name, s)) for s in (1, 2, 4)]
        out += [("block", f"{name}, Poisson RR {rr}", (name, -rr)) for rr in (2, 4)]
    return out


def simulate(kind: str, spec, blocks: dict, n: int, rng):  # type: ignore[no-untyped-def]
    if kind == "noise":
        return (rng.normal(size=n) if spec is None else rng.poisson(spec, n).astype(float)), None
    name, shift = spec
    block = blocks[name]
    if shift > 0:
        values = rng.normal(size=n)
        values[block] += shift
    else:
        values = rng.poisson(np.where(block, -shift, 1.0)).astype(float)
    return values, block


def study(label: str, ids, graph, blocks: dict, replicates: int) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = []
    for kind, name, spec in scenarios(blocks):
        for method in METHODS:
            results = []
            for rep in range(replicates):
                rng = np.random.default_rng(1000 * rep + hash(name) % 997)
                values, block = simulate(kind, spec, blocks, len(ids), rng)
                results.append(evaluate(ids, graph, values, block, method, rep))
            mean = pd.DataFrame(results).mean()
            rows.append({"graph": label, "scenario": name, "method": method, **mean.to_dict()})
            print(
                f"{label:8} {name:38} {method:12} raw {mean['raw']:.3f}  "
                f"FDP {mean['fdp']:.3f}  power {mean['power']:.2f}  {mean['seconds']:.2f} s",
                flush=True,
            )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=3)
    args = parser.parse_args()
    ids, graph, blocks = lattice()
    frames = [study("lattice", ids, graph, blocks, args.replicates)]
    from benchmarks.common import NATIONAL_2015

    if NATIONAL_2015.exists():
        ids, graph, blocks = buurt_graph()
        frames.append(study("buurten", ids, graph, blocks, args.replicates))
    else:
        print(f"{NATIONAL_2015} is absent: the buurt graph study is skipped")
    table = pd.concat(frames)
    print(
        "\nSummary: the largest share of null areas with p <= 0.05 before correction on "
        "noise; mean false discovery proportion after FDR on noise and on blocks; mean "
        "power on planted blocks; mean seconds"
    )
    noise = table[~table["scenario"].str.contains("SD|RR")]
    block = table[table["scenario"].str.contains("SD|RR")]
    summary = pd.DataFrame(
        {
            "raw (noise)": noise.groupby("method")["raw"].max(),
            "FDP (noise)": noise.groupby("method")["fdp"].mean(),
            "FDP (blocks)": block.groupby("method")["fdp"].mean(),
            "power": block.groupby("method")["power"].mean(),
            "seconds": table.groupby("method")["seconds"].mean(),
        }
    ).reindex(METHODS)
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
