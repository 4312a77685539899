"""The numpy all-MiniLM-L6-v2 encoder against published reference scores and its own math."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.embedding import DIMENSIONS, MAX_TOKENS, MiniLM

# sentence-transformers' semantic search example (its documentation prints these scores
# for all-MiniLM-L6-v2): an independent reference for the whole forward pass.
CORPUS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is riding a horse.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "A cheetah is running behind its prey.",
    "A woman is playing violin.",
]
PUBLISHED = [
    ("A man is eating pasta.", "A man is eating food.", 0.7035),
    ("A man is eating pasta.", "A man is eating a piece of bread.", 0.5272),
    ("A man is eating pasta.", "A man is riding a horse.", 0.1889),
    ("A man is eating pasta.", "A man is riding a white horse on an enclosed ground.", 0.1047),
    ("A man is eating pasta.", "A cheetah is running behind its prey.", 0.0980),
    (
        "Someone in a gorilla costume is playing a set of drums.",
        "A monkey is playing drums.",
        0.6433,
    ),
    ("A cheetah chases prey on across a field.", "A cheetah is running behind its prey.", 0.8253),
]


@pytest.mark.parametrize(("query", "passage", "score"), PUBLISHED)
def test_matches_published_scores(minilm: MiniLM, query: str, passage: str, score: float) -> None:
    q, p = minilm.encode([query, passage])
    assert float(q @ p) == pytest.approx(score, abs=6e-4)


def test_unit_vectors_and_shape(minilm: MiniLM) -> None:
    vectors = minilm.embed([*CORPUS, ""])
    assert vectors.shape == (len(CORPUS) + 1, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.embed([]).shape == (0, DIMENSIONS)


def test_padding_does_not_change_a_vector(minilm: MiniLM) -> None:
    short = "disk full"
    alone = minilm.encode([short])[0]
    # Batched with much longer texts, the short one is padded by ~40 tokens.
    batch = minilm.encode([short, " ".join(CORPUS), CORPUS[3]])
    assert np.abs(batch[0] - alone).max() < 1e-5


def test_masked_padding_leaves_real_token_states_alone(minilm: MiniLM) -> None:
    ids = minilm.token_ids(["job stuck in hold"])[0]
    plain = minilm.forward(np.array([ids]), np.ones((1, len(ids)), dtype=np.int64))
    padded_ids = np.array([[*ids, 0, 0, 0, 0, 0]])
    mask = np.array([[1] * len(ids) + [0] * 5])
    padded = minilm.forward(padded_ids, mask)
    assert np.abs(padded[0, : len(ids)] - plain[0]).max() < 1e-5
    # Without the mask the padding would be attended to and change the states.
    unmasked = minilm.forward(padded_ids, np.ones_like(mask))
    assert np.abs(unmasked[0, : len(ids)] - plain[0]).max() > 1e-3


def test_long_text_is_truncated_at_256_tokens(minilm: MiniLM) -> None:
    long = "payroll " * 600
    assert len(minilm.token_ids([long])[0]) == MAX_TOKENS
    assert np.isfinite(minilm.embed([long])).all()


def test_cached_vectors_equal_fresh_ones(minilm: MiniLM) -> None:
    texts = ["rerun the payroll extract", "agent unlinked"]
    first = minilm.embed(texts)
    assert np.array_equal(minilm.embed(texts[::-1]), first[::-1])
    assert np.abs(minilm.encode(texts) - first).max() < 1e-6
