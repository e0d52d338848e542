#!/usr/bin/env python3
"""Chooses retrieval settings by 5-fold cross-validation over judged queries.

Reads the per-leg run files `sluice eval --out DIR` writes (keyword.run, vector.run: top 100 with
scores) and the qrels, fuses them offline with each candidate setting, and reports for each fusion
family the all-train nDCG@10 of its best setting and the cross-validated nDCG@10 (settings picked on
four folds, scored on the fifth; folds fixed: sorted query ids, i % 5). Stdlib only.

Given several DIRs (one `sluice eval --out` per keyword-leg setting: analysis chain, boosts), it
also picks the setting by cross-validation: for the keyword leg alone, and jointly with the fusion
(setting × weight picked on four folds, scored on the fifth).

    sluice eval --corpus … --queries … --qrels … --out .sluice-data/eval-out
    python3 tools/eval/fusion_cv.py ../shared/data/scifact-train/qrels/train.tsv .sluice-data/eval-out [DIR …]
"""
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def read_run(path):
    run = defaultdict(list)
    for line in Path(path).read_text().splitlines():
        q, _, d, _, s, _ = line.split()
        run[q].append((d, float(s)))
    return run


def read_qrels(path):
    qrels = defaultdict(dict)
    for i, line in enumerate(Path(path).read_text().splitlines()):
        c = line.split("\t")
        if i == 0 and "query" in c[0]:
            continue
        if len(c) >= 3 and float(c[2]) > 0:
            qrels[c[0]][c[1]] = float(c[2])
    return qrels


def ndcg10(ranked, rel):
    dcg = sum(rel.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def minmax(leg):
    if not leg:
        return {}
    lo, hi = min(s for _, s in leg), max(s for _, s in leg)
    return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in leg}


def zscore(leg):
    if len(leg) < 2:
        return {d: 0.0 for d, _ in leg}
    xs = [s for _, s in leg]
    mu, sd = statistics.fmean(xs), statistics.pstdev(xs) or 1.0
    return {d: (s - mu) / sd for d, s in leg}


def fit_logistic(pairs, iters=30):
    """(a, b) of p(relevant | score) = 1 / (1 + exp(-(a·score + b))), by Newton's method."""
    a = b = 0.0
    for _ in range(iters):
        ga = gb = haa = hab = hbb = 0.0
        for s, y in pairs:
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, a * s + b))))
            g, w = p - y, p * (1.0 - p)
            ga, gb, haa, hab, hbb = ga + g * s, gb + g, haa + w * s * s, hab + w * s, hbb + w
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        a -= (hbb * ga - hab * gb) / det
        b -= (haa * gb - hab * ga) / det
    return a, b


def calibrate(run, queries, qrels):
    """A leg's logistic calibration, fitted on its candidates for `queries` (label: judged relevant)."""
    return fit_logistic([(s, 1 if d in qrels[q] else 0) for q in queries for d, s in run.get(q, [])])


def fuse(kw, vec, family, p):
    if family == "calibrated":
        # p = (keyword weight, keyword (a, b), vector (a, b)): a weighted sum of each leg's
        # log-odds of relevance; a document a leg did not return takes that leg's lowest score.
        w, (ak, bk), (av, bv) = p
        a = {d: ak * s + bk for d, s in kw}
        b = {d: av * s + bv for d, s in vec}
        floor_a, floor_b = min(a.values(), default=0.0), min(b.values(), default=0.0)
        score = {d: w * a.get(d, floor_a) + (1 - w) * b.get(d, floor_b) for d in set(a) | set(b)}
        return [d for d, _ in sorted(score.items(), key=lambda x: (-x[1], x[0]))]
    if family == "rrf":
        k, w = p
        score = defaultdict(float)
        for i, (d, _) in enumerate(kw):
            score[d] += w / (k + i + 1)
        for i, (d, _) in enumerate(vec):
            score[d] += 1.0 / (k + i + 1)
    else:
        norm = minmax if family == "convex-minmax" else zscore
        a, b = norm(kw), norm(vec)
        floor_a = min(a.values(), default=0.0)
        floor_b = min(b.values(), default=0.0)
        score = {d: p * a.get(d, floor_a) + (1 - p) * b.get(d, floor_b) for d in set(a) | set(b)}
    return [d for d, _ in sorted(score.items(), key=lambda x: (-x[1], x[0]))]


FAMILIES = {
    "rrf": [(k, w) for k in (10, 20, 40, 60) for w in (0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0)],
    "convex-minmax": [round(i * 0.05, 2) for i in range(21)],
    "convex-z": [round(i * 0.05, 2) for i in range(21)],
}


def cross_validate(queries, folds, per):
    """per: setting → {query: nDCG@10}. Returns (all-train best, its score, CV score, picks)."""
    grid = list(per)
    best_all = max(grid, key=lambda p: statistics.fmean(per[p][q] for q in queries))
    held, picks = [], []
    for f in range(5):
        train = [q for q in queries if folds[q] != f]
        pick = max(grid, key=lambda p: sum(per[p][q] for q in train))
        picks.append(pick)
        held += [per[pick][q] for q in queries if folds[q] == f]
    return best_all, statistics.fmean(per[best_all][q] for q in queries), statistics.fmean(held), picks


def main():
    qrels = read_qrels(sys.argv[1])
    dirs = [Path(a) for a in sys.argv[2:]]
    if not dirs:
        sys.exit("usage: fusion_cv.py QRELS DIR [DIR …]")
    runs = {d.name: (read_run(d / "keyword.run"), read_run(d / "vector.run")) for d in dirs}
    queries = sorted(q for q in qrels if any(q in kw or q in vec for kw, vec in runs.values()))
    folds = {q: i % 5 for i, q in enumerate(queries)}
    leg = lambda run, q: ndcg10([d for d, _ in run.get(q, [])], qrels[q])
    for name, (kw, vec) in runs.items():
        print(f"{name}: {len(queries)} queries; keyword {statistics.fmean(leg(kw, q) for q in queries):.4f}, "
              f"vector {statistics.fmean(leg(vec, q) for q in queries):.4f}")
    if len(runs) > 1:
        per = {name: {q: leg(kw, q) for q in queries} for name, (kw, vec) in runs.items()}
        best, score, cv, picks = cross_validate(queries, folds, per)
        print(f"keyword setting: all-train best {best} → {score:.4f}; 5-fold CV {cv:.4f} (picks {picks})")
    for family, grid in FAMILIES.items():
        per = {(name, p): {q: ndcg10(fuse(kw.get(q, []), vec.get(q, []), family, p), qrels[q]) for q in queries}
               for name, (kw, vec) in runs.items() for p in grid}
        best, score, cv, picks = cross_validate(queries, folds, per)
        print(f"{family:14} all-train best {best} → {score:.4f}; 5-fold CV {cv:.4f} (picks {picks})")
    # Calibrated: each fold fits the legs' calibrations and picks (setting, weight) on four
    # folds, then scores the fifth; the all-train line fits on every query.
    weights = [round(0.3 + i * 0.05, 2) for i in range(9)]
    def calibrated(train):
        cal = {name: (calibrate(kw, train, qrels), calibrate(vec, train, qrels)) for name, (kw, vec) in runs.items()}
        per = {(name, w): {q: ndcg10(fuse(kw.get(q, []), vec.get(q, []), "calibrated", (w, *cal[name])), qrels[q]) for q in queries}
               for name, (kw, vec) in runs.items() for w in weights}
        pick = max(per, key=lambda k: sum(per[k][q] for q in train))
        return pick, per, cal[pick[0]]
    pick, per, cal = calibrated(queries)
    print(f"calibrated     all-train best {pick} → {statistics.fmean(per[pick].values()):.4f}; "
          f"keyword a {cal[0][0]:.4f} b {cal[0][1]:.3f}, vector a {cal[1][0]:.3f} b {cal[1][1]:.3f}")
    held, picks = [], []
    for f in range(5):
        pick, per, _ = calibrated([q for q in queries if folds[q] != f])
        picks.append(pick)
        held += [per[pick][q] for q in queries if folds[q] == f]
    print(f"calibrated     5-fold CV {statistics.fmean(held):.4f} (picks {picks})")


if __name__ == "__main__":
    main()
