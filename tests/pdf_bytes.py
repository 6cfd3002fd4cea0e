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


def one_page_pdf(resources: bytes, content: bytes, resource_objects: list[bytes], size: tuple[int, int] = (595, 842)) -> bytes:
    """Given a page's /Resources dict, its content stream and the bodies of the objects the resources name (numbered
    from 5: 1 the catalog, 2 the pages, 3 the page, 4 its content), return a one-page PDF of that size (points)."""
    return objects_to_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources " % size + resources + b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        *resource_objects,
    ])
