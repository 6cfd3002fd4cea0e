"""A test helper: a PDF file's bytes written by hand from its objects, for PDFs no producer here makes."""

from __future__ import annotations


def objects_to_pdf(objects: list[bytes]) -> bytes:
    """Given the bodies of objects 1..n (object 1 the catalog), return a PDF of them with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
