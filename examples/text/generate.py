"""Regenerate the text example (deterministic, nothing downloaded): short support tickets in four topics.

Run from the repository root:  python examples/text/generate.py

Each ticket is a few sentences drawn from a topic's phrases (billing, shipping, account, product),
with words shared between topics and a quarter of each ticket's phrases from another topic, so
neighbours are informative but not perfect; made-up product and place names (no topic in them) make
tickets distinct. 300 tickets are the evaluation set (eval.csv); alice,
bob and carol write 250 each; copycat re-registers alice's first 120 tickets with one word changed;
mallory registers real tickets with every label moved to the next topic.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
TOPICS = {
    "billing": ["charged twice for my subscription", "refund has not arrived", "invoice shows the wrong amount",
                "credit card was declined at checkout", "cancel the annual plan and get a refund",
                "tax on the invoice looks wrong", "payment failed but money left my account",
                "discount code was not applied to the price", "bank statement shows an unknown charge",
                "switch billing to monthly payments"],
    "shipping": ["parcel has not been delivered", "tracking number does not work", "courier left the box outside",
                 "delivery is two weeks late", "package arrived damaged and wet", "wrong address on the shipping label",
                 "order stuck in customs", "express delivery took longer than standard",
                 "box was missing one item", "change the delivery date of my order"],
    "account": ["cannot log in to my account", "password reset email never arrives", "two factor code is rejected",
                "account was locked after a login attempt", "change the email address on my profile",
                "delete my account and personal data", "someone else logged into my account",
                "username is already taken", "verification link has expired", "merge two accounts into one"],
    "product": ["screen flickers after the update", "battery drains within an hour", "app crashes when I open settings",
                "headphones stopped charging", "the blender makes a grinding noise", "firmware update failed halfway",
                "camera photos are blurry", "buttons feel loose after a week", "speaker crackles at high volume",
                "device overheats while charging"],
}
OPENERS = ["hello", "hi team", "good morning", "dear support", "urgent", "please help", "quick question"]
CLOSERS = ["thanks", "thank you in advance", "regards", "please reply soon", "this is frustrating", "cheers"]


SYLLABLES = ["ka", "lo", "mi", "ren", "tu", "zo", "vex", "pa", "qui", "dor", "sel", "bran", "ix", "mo", "tal", "fen"]


def detail(rng: np.random.Generator) -> str:
    """A product or place name (two or three syllables): says nothing about the topic, makes tickets distinct."""
    return "".join(str(s) for s in rng.choice(SYLLABLES, int(rng.integers(2, 4))))


def ticket(rng: np.random.Generator, topic: str) -> str:
    names = list(TOPICS)
    parts = [str(rng.choice(OPENERS))]
    for _ in range(int(rng.integers(2, 4))):
        source = topic if rng.random() < 0.75 else names[int(rng.integers(len(names)))]
        phrase = str(rng.choice(TOPICS[source]))
        parts.append(f"{phrase} ({detail(rng)})" if rng.random() < 0.5 else phrase)
    parts.append(str(rng.choice(CLOSERS)))
    return ", ".join(parts)


def tickets(rng: np.random.Generator, n: int) -> tuple[list[str], list[str]]:
    labels = [str(t) for t in rng.choice(list(TOPICS), n)]
    return [ticket(rng, t) for t in labels], labels


def write_csv(path: Path, texts: list[str], labels: list[str]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "topic"])
        w.writerows(zip(texts, labels))


def one_word_changed(rng: np.random.Generator, text: str) -> str:
    words = text.split(" ")
    words[int(rng.integers(len(words)))] = str(rng.choice(["kindly", "again", "today", "still", "now"]))
    return " ".join(words)


def main() -> None:
    rng = np.random.default_rng(26)
    write_csv(HERE / "eval.csv", *tickets(rng, 300))
    files = {name: tickets(rng, 250) for name in ("alice", "bob", "carol")}
    texts, labels = files["alice"]
    files["copycat"] = ([one_word_changed(rng, t) for t in texts[:120]], labels[:120])
    real, real_labels = tickets(rng, 120)
    names = list(TOPICS)
    files["mallory"] = (real, [names[(names.index(v) + 1) % len(names)] for v in real_labels])
    manifest = []
    for i, (name, (t, y)) in enumerate(files.items(), start=1):
        write_csv(HERE / f"{name}.csv", t, y)
        manifest.append({"id": f"{name}-1", "contributor": "0x" + f"{i:02d}" * 20, "kind": "data", "path": f"{name}.csv"})
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    spec = {"label": "topic", "classes": names,
            "text": {"column": "text", "n_features": 1024, "ngram_range": [1, 2], "sublinear_tf": True},
            "kind_shares_bps": {"data": 10000}}
    (HERE / "spec.json").write_text(json.dumps(spec, indent=1) + "\n")


if __name__ == "__main__":
    main()
