"""Generator of filled forms and their ground truth.

Command line: ``python -m samples.generate OUT_DIR [--seed N] [--count N]``.

In Python::

    from samples.generate import generate, form_spec, build_form, save_docx, truth_of
    truth = generate("out", seed=0)                     # the default set + out/truth.json
    spec = form_spec("qh", Variant(layout="merged"), random.Random(0))   # samples.variant.Variant
    row = next(r for r in spec.rows if r.item == "考生守则（1分）")
    row.cells["self"] = "3"                             # any printed text; truth follows the text
    save_docx(build_form(spec), "one.docx"); truth_of(spec)
"""
