#!/usr/bin/env python3
"""Chooses hybrid fusion settings by 5-fold cross-validation over judged queries.

Reads the per-leg run files `sluice eval --out DIR` writes (keyword.run, vector.run: top 100 with
scores) and the qrels, fuses them offline with each candidate setting, and reports for each fusion
family the all-train nDCG@10 of its best setting and the cross-validated nDCG@10 (settings picked on
four folds, scored on the fifth; folds fixed: sorted query ids, i % 5). Stdlib only.

    sluice eval --corpus … --queries … --qrels … --out .sluice-data/eval-out
    python3 tools/eval/fusion_cv.py .sluice-data/eval-out ../shared/data/scifact-train/qrels/train.tsv
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


def fuse(kw, vec, family, p):
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


def main():
    out, qrels_path = Path(sys.argv[1]), sys.argv[2]
    kw, vec, qrels = read_run(out / "keyword.run"), read_run(out / "vector.run"), read_qrels(qrels_path)
    queries = sorted(q for q in qrels if q in kw or q in vec)
    folds = {q: i % 5 for i, q in enumerate(queries)}
    print(f"{len(queries)} queries; keyword {statistics.fmean(ndcg10([d for d, _ in kw[q]], qrels[q]) for q in queries):.4f}, "
          f"vector {statistics.fmean(ndcg10([d for d, _ in vec[q]], qrels[q]) for q in queries):.4f}")
    for family, grid in FAMILIES.items():
        per = {p: {q: ndcg10(fuse(kw[q], vec[q], family, p), qrels[q]) for q in queries} for p in grid}
        best_all = max(grid, key=lambda p: statistics.fmean(per[p].values()))
        held = []
        picks = []
        for f in range(5):
            train = [q for q in queries if folds[q] != f]
            pick = max(grid, key=lambda p: sum(per[p][q] for q in train))
            picks.append(pick)
            held += [per[pick][q] for q in queries if folds[q] == f]
        print(f"{family:14} all-train best {best_all} → {statistics.fmean(per[best_all].values()):.4f}; "
              f"5-fold CV {statistics.fmean(held):.4f} (picks {picks})")


if __name__ == "__main__":
    main()
