"""Test-only: a group of photos whose member is named crash*.jpg kills its worker (os._exit), as a crash inside an
image decoder would, and one with a raise*.jpg member raises inside the reading, each after writing the group to the
file named by SELFEVAL_TEST_CRASHED; loaded into every ingest worker through SELFEVAL_PLUGINS
(tests/test_multi_photo.py)."""

from __future__ import annotations

import os

from extractor import pages_group

_read_together = pages_group.images_to_forms


def _crashing(members, rubrics, rubric_id=None):
    names = [source.rpartition("!")[2] for _path, source, _sha in members]
    if any(n.startswith(("crash", "raise")) for n in names):
        with open(os.environ["SELFEVAL_TEST_CRASHED"], "a", encoding="utf-8") as f:
            f.write("+".join(source for _path, source, _sha in members) + "\n")
        if any(n.startswith("crash") for n in names):
            os._exit(3)
        raise RuntimeError("a reader's bug")
    return _read_together(members, rubrics, rubric_id)


pages_group.images_to_forms = _crashing
