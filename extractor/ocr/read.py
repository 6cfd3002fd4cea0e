"""Recognition of text crops: batched, numbers read again from several crops that vote, look-alike letters
in a number decoded again as digits (never silently fixed: the confidence says how sure the digit is)."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from ..parsers.assemble import is_cjk
from ..scores import parse_number
from .engine import Engine
from .grid import Text
from .prepare import Prepared, grey_percentile

DEFAULT_MIN_WIDTH = 128  # pixels at the recogniser's height: a lone digit still gets 16 steps to be read in
DEFAULT_REC_HEIGHT = 48  # the recognizer's own input height: the voting crops (and orientation) are read at it
FIRST_PASS_HEIGHT = 32  # the first reading's height: 2/3 the pixels a side, under half the cost, as exact here
DEFAULT_CROP_PADS = ((0.0, 0.0), (0.1, 0.05))  # crop padding (along, across) in text heights
DEFAULT_INK_MARGIN = 0.15  # share of its height: ink no box covered gets this margin, like a detected box
DEFAULT_STRETCHES = (1.0, 1.6)  # short texts are read from every padding at each of these widths
DEFAULT_SHORT_RATIO = 2.5  # a crop at most this many times as wide as high is a short text
DEFAULT_SURE_READING = 0.95  # a first reading whose every character is this sure is not read again


# Letters the recognizer reads for digits (and dots for the decimal point); used only when every other
# character of the text is a digit, or other crops of the same text read a number.
DIGIT_LOOKALIKES = {"O": "0", "o": "0", "D": "0", "Q": "0", "〇": "0", "○": "0", "l": "1", "I": "1", "i": "1",
                    "|": "1", "丨": "1", "!": "1", "J": "1", "L": "1", "Z": "2", "z": "2", "S": "5", "s": "5", "B": "8",
                    "g": "9", "q": "9", "。": ".", "·": "."}
# Glyphs the recognizer confuses in printed Chinese (same shape): read as the common punctuation.
TEXT_FIXES = {"丶": "、"}


def crop(page: Prepared, text: Text, pad: tuple[float, float] = DEFAULT_CROP_PADS[0], stretch: float = 1.0,
         rec_height: int = DEFAULT_REC_HEIGHT) -> np.ndarray:
    """Given a text, return its crop of the rule-free page as BGR for the recognizer: padded by pad (shares of
    the text's height, across and along), kept inside its cell, scaled down to rec_height when taller."""
    h, w = page.clean.shape[:2]
    box, limit = text.box, text.limit or (0, 0, w, h)
    height = box[3] - box[1]
    pad_x, pad_y = round(pad[0] * height), round(pad[1] * height)
    x0, y0 = max(int(box[0]) - pad_x, int(limit[0]), 0), max(int(box[1]) - pad_y, int(limit[1]), 0)
    x1 = min(int(math.ceil(box[2])) + pad_x, int(math.ceil(limit[2])), w)
    y1 = min(int(math.ceil(box[3])) + pad_y, int(math.ceil(limit[3])), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        x0, y0, x1, y1 = int(box[0]), int(box[1]), max(int(box[2]), int(box[0]) + 2), max(int(box[3]), int(box[1]) + 2)
    image = page.clean[y0:y1, x0:x1]
    # Text against a rule: the padding the cell has no room for is added in the paper's colour.
    want = (int(box[0]) - pad_x, int(box[1]) - pad_y, int(math.ceil(box[2])) + pad_x, int(math.ceil(box[3])) + pad_y)
    left, top = max(min(x0 - want[0], pad_x), 0), max(min(y0 - want[1], pad_y), 0)
    right, bottom = max(min(want[2] - x1, pad_x), 0), max(min(want[3] - y1, pad_y), 0)
    if left or top or right or bottom:
        paper = int(grey_percentile(image, 90))
        image = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=paper)
    if image.shape[0] > rec_height:  # scale down with area averaging: no aliased grain
        size = (max(round(image.shape[1] * rec_height / image.shape[0]), 1), rec_height)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if stretch != 1.0:
        image = cv2.resize(image, (max(round(image.shape[1] * stretch), 1), image.shape[0]),
                           interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)


def read_texts(engine: Engine, page: Prepared, texts: list[Text]) -> None:
    """Recognise texts in place (text, confidence).

    A number, or a short text alone in its cell (a crop at most DEFAULT_SHORT_RATIO times as wide as high: a
    score misread as a letter), whose first reading is uncertain (``uncertain``) is read again from differently
    padded and stretched crops (DEFAULT_CROP_PADS, DEFAULT_STRETCHES): a lone digit's reading swings with the
    crop. When every crop reads the same, its confidence is their median; otherwise the text most crops read is
    kept with its lowest confidence times the share of crops that agree (so a doubtful digit is flagged). See
    ``combine``. A first reading every character of which the recogniser is DEFAULT_SURE_READING sure is kept
    as read (the voting crops cost four readings each and would agree).

    The first reading is made at FIRST_PASS_HEIGHT, the voting crops at the recogniser's own DEFAULT_REC_HEIGHT:
    a text the smaller crop leaves uncertain is read again at the height the model was trained at.
    """
    if not texts:
        return
    crops = [crop(page, t, rec_height=FIRST_PASS_HEIGHT) for t in texts]
    lowest: list[float] = []
    first = recognise(engine, crops, lowest, FIRST_PASS_HEIGHT)
    short = [i for i, (text, _c) in enumerate(first)
             if (_is_number(text) or _lookalike_number(text)
                 or (texts[i].alone and crops[i].shape[1] <= DEFAULT_SHORT_RATIO * crops[i].shape[0]))
             and uncertain(text, lowest[i])]
    pads = [(pad, stretch) for stretch in DEFAULT_STRETCHES for pad in DEFAULT_CROP_PADS]
    again = recognise(engine, [crop(page, texts[i], pad, stretch) for i in short for pad, stretch in pads])
    readings = {i: [first[i]] for i in range(len(texts))}
    for k, i in enumerate(short):
        readings[i].extend(again[k * len(pads):(k + 1) * len(pads)])
    for i, text in enumerate(texts):
        text.text, text.confidence = combine(readings[i])


def uncertain(text: str, lowest: float) -> bool:
    """Given a first reading and the probability of its least sure character, return whether the voting crops
    must read it again: unless it is a number, or plain Chinese (no letter or sign a digit looks like), every
    character of which is at least DEFAULT_SURE_READING sure."""
    t = re.sub(r"\s+", "", text)
    if not t or lowest < DEFAULT_SURE_READING:
        return True
    return not (_is_number(t) or all(is_cjk(ch) and ch not in DIGIT_LOOKALIKES for ch in t))


def combine(readings: list[tuple[str, float]]) -> tuple[str, float]:
    """Given readings of one text from several crops, return (text, confidence); see ``read_texts``.

    When at least half the readings that read something other than a bare 分 are numbers, they outvote the
    others (a digit the recognizer merges into the 分 beside it is missed by some crops); the most frequent
    reading wins (ties: the surer)."""
    if len(readings) == 1:
        return readings[0]
    numbers = [r for r in readings if _is_number(re.sub(r"\s+", "", r[0]))]
    if numbers:  # other crops read digits: a lone "O" or "l" is that digit's look-alike, a vote for it
        readings = [(_as_digits(text), c) for text, c in readings]
        numbers = [r for r in readings if _is_number(re.sub(r"\s+", "", r[0]))]
    voting = [r for r in readings if re.sub(r"\s+", "", r[0]) not in ("", "分")]  # a bare 分 lost its digit
    candidates = numbers if numbers and 2 * len(numbers) >= len(voting) else readings
    counts: dict[str, int] = {}
    for text, _c in candidates:
        counts[text] = counts.get(text, 0) + 1
    best = max(counts, key=lambda t: (counts[t], sum(c for x, c in candidates if x == t)))
    confidences = sorted(c for x, c in readings if x == best)
    if counts[best] == len(readings):
        return best, float(confidences[len(confidences) // 2])
    return best, float(confidences[0]) * counts[best] / len(readings)


def _is_number(text: str) -> bool:
    """Given a recognised text, return whether it is a score: read by scores.parse_number, the one number reader
    (so "1 1" is two numbers here too, never eleven)."""
    return parse_number(text) is not None


def _as_digits(text: str) -> str:
    """Given a text, return it with look-alike letters read as digits when that makes it a number, else as is."""
    t = re.sub(r"\s+", "", text)
    mapped = "".join(DIGIT_LOOKALIKES.get(ch, ch) for ch in t)
    return mapped if t and _is_number(mapped) else text


def _lookalike_number(text: str) -> bool:
    """Whether text is a number once look-alike letters are read as digits, with at least one real digit;
    or a score's 分 with nothing but look-alikes before it (the digit was misread or dropped: "分", "O分")."""
    t = re.sub(r"\s+", "", text)
    if not t or _is_number(t):
        return False
    if t.endswith("分") and all(ch in DIGIT_LOOKALIKES or ch in ".+-" for ch in t[:-1]):
        return True
    return any(ch.isdigit() for ch in t) and _is_number("".join(DIGIT_LOOKALIKES.get(ch, ch) for ch in t))


def recognise(engine: Engine, images: list[np.ndarray], lowest: list[float] | None = None,
              height: int = DEFAULT_REC_HEIGHT, min_width: int = DEFAULT_MIN_WIDTH) -> list[tuple[str, float]]:
    """Given text crops, return (text, confidence) for each, read at height and padded to at least min_width (and,
    when lowest is a list, append to it the probability of each one's least sure character, 0 for an empty
    reading).

    Confidence is the mean probability of the characters read (the engine's score). A text that is a
    number apart from look-alike letters is decoded again with only digits, '.', signs and 分 allowed;
    its confidence is then the lowest probability of a character it kept.

    Each crop is recognised alone, at its own width (at least DEFAULT_MIN_WIDTH): the recogniser's cost grows
    with the width it is given, and faster than that in a batch (16 crops padded to 1280 px cost 4 times what
    each costs alone), while a page's crops are mostly short (a score, a wrapped line in a narrow cell) and
    rapidocr's own resizer pads every crop to 320 px. Crops are read ``engine.threads`` at a time (Engine.map).
    """
    session = engine.recognizer.session

    def one(image: np.ndarray) -> tuple[tuple[str, float], float]:
        return _decode(engine, session(_tensor(image, height, min_width)[np.newaxis])[0][0])

    results = engine.map(one, images)
    if lowest is not None:
        lowest.extend(low for _reading, low in results)
    return [reading for reading, _low in results]


def _tensor(image: np.ndarray, height: int, min_width: int = DEFAULT_MIN_WIDTH) -> np.ndarray:
    """Given a BGR crop, return the recogniser's input for it: scaled to height (as rapidocr scales: bilinear),
    channels first, in [-1, 1], padded on the right with 0 to min_width."""
    h, w = image.shape[:2]
    width = max(1, math.ceil(height * w / max(h, 1)))
    resized = cv2.resize(image, (width, height)).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    if width >= min_width:
        return resized
    padded = np.zeros((3, height, min_width), dtype=np.float32)
    padded[:, :, :width] = resized
    return padded


def decode(engine: Engine, probs: np.ndarray) -> tuple[str, float]:
    """Given one crop's per-step character probabilities, return (text, confidence); see ``recognise``."""
    return _decode(engine, probs)[0]


def _decode(engine: Engine, probs: np.ndarray) -> tuple[tuple[str, float], float]:
    """Given one crop's per-step character probabilities, return ((text, confidence), the probability of its
    least sure character)."""
    text, confidences = _ctc(engine.characters, probs.argmax(axis=1), probs)
    text = "".join(TEXT_FIXES.get(ch, ch) for ch in text)
    if _lookalike_number(text):
        allowed = engine.number_index
        restricted = np.full_like(probs, -1.0)
        restricted[:, 0] = probs[:, 0]  # CTC blank
        restricted[:, allowed] = probs[:, allowed]
        digits, digit_conf = _ctc(engine.characters, restricted.argmax(axis=1), probs)
        if _is_number(digits):
            return (digits, float(min(digit_conf))), float(min(digit_conf))
    if not confidences:
        return ("", 0.0), 0.0
    return (text.strip(), mean(confidences)), float(min(confidences))


def mean(values: list[float]) -> float:
    """Given floats (at least one), return float(np.mean(values)) to the bit without making an array of them (a
    call per crop): numpy's pairwise summation, operation for operation (``_pairwise_sum``), over the count."""
    return _pairwise_sum(values, 0, len(values)) / len(values)


def _pairwise_sum(values: list[float], start: int, n: int) -> float:
    """numpy's pairwise sum of values[start:start + n] (its float64 add.reduce): under 8 added in turn; up to 128
    in 8 running sums added as a tree, the rest in turn; beyond, the two halves (cut at a multiple of 8)."""
    if n < 8:
        total = 0.0
        for i in range(start, start + n):
            total += values[i]
        return total
    if n <= 128:
        r = values[start:start + 8]
        i = 8
        while i < n - n % 8:
            r = [r[j] + values[start + i + j] for j in range(8)]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(start + i, start + n):
            total += values[k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values, start, half) + _pairwise_sum(values, start + half, n - half)


def _ctc(characters: list[str], index: np.ndarray, probs: np.ndarray) -> tuple[str, list[float]]:
    """Greedy CTC decoding: repeated steps merged, blanks (index 0) dropped; a character's confidence is
    its highest probability over the steps it spans (the first step alone is often its onset, less sure)."""
    chars, confs = [], []
    previous = -1
    for t, i in enumerate(index):
        if i != 0 and i != previous:
            chars.append(characters[i])
            confs.append(float(probs[t, i]))
        elif i != 0:
            confs[-1] = max(confs[-1], float(probs[t, i]))
        previous = i
    return "".join(chars), confs
