"""The sentiment demo's labelled corpus: short synthetic film reviews where word *order*
decides the label.

**This corpus is synthetic.**  It is made by :func:`generate` from templates, with
Python's ``random.Random(seed)`` (whose draws are fixed for a given seed), and shipped as
``data/reviews.tsv`` so that the demo runs offline; ``python -m scratchrnn.demos.reviews``
writes the same file again, byte for byte (a test checks it).

How a review is made.  A *clause* is ``subject verb [negator] [intensifier] adjective``,
e.g. "the plot was not very good", "the acting was never boring".  Its polarity is the
adjective's (``good`` +1, ``boring`` -1), flipped by a negator (``not``, ``never``,
``hardly``, ``far from``); intensifiers (``very``, ``really``, ...) change nothing.
A review of label ``p`` (1 positive, 0 negative) strings together one to three clauses
of polarity ``p``, and one time in four starts with a clause of the *opposite* polarity
followed by ``but`` ("the cast was great but the script was dull"): what comes after
``but`` decides.  Neutral sentences ("i saw it on a sunday .") pad some reviews.

Why a bag of words struggles.  A clause is negated with probability 0.4, so a positive
adjective appears in a negative review 40 % of the time, and ``not``/``never`` appear in
both classes equally: counting words cannot tell "not good ... boring" from
"good ... not boring", which have the same words.  A model that reads in order can.
"""

import os
import random

#: Where the shipped corpus lives (one review per line: split, label, text).
PATH = os.path.join(os.path.dirname(__file__), "data", "reviews.tsv")
SEED = 20261124
COUNTS = {"train": 2000, "test": 800}

SUBJECTS = ("the plot", "the acting", "the script", "the dialogue", "the soundtrack",
            "the ending", "the cast", "the pacing", "this film", "the story", "the humour",
            "the direction", "the photography", "the lead")
VERBS = ("was", "is", "felt", "seemed")
POSITIVE = ("good", "great", "brilliant", "moving", "funny", "clever", "gripping",
            "beautiful", "charming", "superb", "fresh", "memorable")
NEGATIVE = ("bad", "boring", "dull", "awful", "clumsy", "predictable", "bland", "tedious",
            "weak", "forgettable", "silly", "flat")
NEGATORS = ("not", "never", "hardly", "far from")
INTENSIFIERS = ("very", "really", "truly", "quite", "so", "extremely")
JOINERS = (" and ", " . ", " , ", " ; also ")
NEUTRAL = ("i saw it on a sunday .", "we watched it at home .", "it runs two hours .",
           "my brother picked it .", "it came out last year .", "i went in knowing nothing .")
NEGATION_RATE = 0.4
CONTRAST_RATE = 0.25


def clause(rng, polarity):
    """One clause of ``polarity`` (+1 or -1) and whether it holds a negator."""
    negated = rng.random() < NEGATION_RATE
    adjectives = POSITIVE if (polarity > 0) != negated else NEGATIVE
    words = [rng.choice(SUBJECTS), rng.choice(VERBS[:2] if negated else VERBS)]
    if negated:  # "was not", "is never": "felt not" reads badly
        words.append(rng.choice(NEGATORS))
    if rng.random() < 0.4:
        words.append(rng.choice(INTENSIFIERS))
    words.append(rng.choice(adjectives))
    return " ".join(words), negated


def review(rng, label):
    """``(text, negated)`` for a review of ``label`` (1 positive, 0 negative); ``negated``
    tells whether any clause holds a negator."""
    polarity = 1 if label else -1
    clauses = [clause(rng, polarity) for _ in range(rng.randint(1, 3))]
    text = rng.choice(JOINERS).join(c for c, _ in clauses)
    negated = any(n for _, n in clauses)
    if rng.random() < CONTRAST_RATE:
        first, first_negated = clause(rng, -polarity)
        text = f"{first} but {text}"
        negated = negated or first_negated
    if rng.random() < 0.3:
        text = f"{rng.choice(NEUTRAL)} {text}"
    return text + " .", negated


def generate(seed=SEED, counts=None):
    """The corpus as a list of ``(split, label, text)``, labels balanced and shuffled."""
    rng = random.Random(seed)
    rows = []
    for split, n in (counts or COUNTS).items():
        labels = [i % 2 for i in range(n)]
        rng.shuffle(labels)
        rows += [(split, label, review(rng, label)[0]) for label in labels]
    return rows


def to_tsv(rows):
    return "".join(f"{split}\t{label}\t{text}\n" for split, label, text in rows)


def load(path=PATH):
    """``{split: (texts, labels)}`` from the TSV file (``labels`` a list of 0/1 ints)."""
    data = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[1] not in ("0", "1"):
                raise ValueError(f"{path}:{number}: expected 'split<TAB>0|1<TAB>text', "
                                 f"got {line!r:.80}")
            texts, labels = data.setdefault(parts[0], ([], []))
            texts.append(parts[2])
            labels.append(int(parts[1]))
    return data


def has_negation(text):
    """Whether ``text`` holds one of the negators (word by word)."""
    words = text.split()
    return any(w in NEGATORS or (w == "far" and words[i + 1:i + 2] == ["from"])
               for i, w in enumerate(words))


def main():
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    with open(PATH, "w", encoding="utf-8", newline="\n") as f:
        f.write(to_tsv(generate()))
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
