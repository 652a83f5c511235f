#!/usr/bin/python3
"""extract --scrub: real types, risky files named, metadata removed.

A source sends a JPEG with EXIF GPS tags, camera and artist, a PDF with an
author and producer, a PDF with JavaScript, a .docm with a macro (which
libmagic sees as a plain .docx), a program named "invoice.pdf" and a text
file, through the real server; the reviewer imports them and runs `extract
--scrub`. The JPEG and the PDF come out without those fields (read back with
exiftool, which mat2 brings), and the report names what went; the script
PDF, the macro document and the program are flagged with their real types;
what mat2 cannot clean is said to be left as sent. With --keep-original the
original stays beside the clean copy, and a second extract into the same
directory replaces nothing. The fixtures are made here: GdkPixbuf and
exiftool for the JPEG, the PDFs written by hand, the .docm with zipfile.
"""
import os
import re
import shutil
import subprocess
import zipfile

import harness
from harness import check


def make_jpeg(path):
    import gi
    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf
    pb = GdkPixbuf.Pixbuf.new(GdkPixbuf.Colorspace.RGB, False, 8, 32, 32)
    pb.fill(0x336699FF)
    pb.savev(path, "jpeg", [], [])
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-GPSLatitude=55.7558",
                    "-GPSLatitudeRef=N", "-GPSLongitude=37.6173", "-GPSLongitudeRef=E",
                    "-Make=Canon", "-Model=EOS 5D", "-Artist=Ivan Petrov", path], check=True)


def make_pdf(path, catalog_extra=b"", info=b""):
    content = b"BT /F1 12 Tf 20 50 Td (evidence) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< " + info + b" >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, o)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, len(objs), xref)
    with open(path, "wb") as f:
        f.write(out)


def make_docm(path):
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
          'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
          '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
          '<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.'
          'document.macroEnabled.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns='
            '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship '
            'Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    doc = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w='
           '"http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
           '<w:t>Invoice</w:t></w:r></w:p></w:body></w:document>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", ct)
        z.writestr("_rels/.rels", rels)
        z.writestr("word/document.xml", doc)
        z.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))


def exif(path):
    r = subprocess.run(["exiftool", "-s", "-s", "-G0", path], capture_output=True, text=True)
    return r.stdout


def test(h):
    for tool in ("mat2", "qpdf", "file", "exiftool"):
        check(shutil.which(tool), "%s is not installed: deploy/install-deps.sh --test installs it"
              % tool)
    files = {
        "photo.jpg": make_jpeg,
        "report.pdf": lambda p: make_pdf(p, info=b"/Author (Ivan Petrov) /Producer (Ministry)"),
        "form.pdf": lambda p: make_pdf(
            p, catalog_extra=b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"),
        "invoice.docm": make_docm,
        "invoice.pdf": lambda p: shutil.copy("/bin/true", p),
        "notes.txt": lambda p: open(p, "w").write("plain notes\n"),
    }
    paths = []
    for name, make in files.items():
        p = h.path("in-" + name)
        make(p)
        paths.append((p, name))
    check("GPS" in exif(h.path("in-photo.jpg")), "the fixture JPEG has no GPS tags")

    rv = harness.Reviewer(h)
    inst = harness.Instance(h, "instance", rv.pub)
    srv = inst.server().start()
    h.submit_ok(srv.url, "files with metadata", paths)
    srv.stop()
    bundle, vault = h.path("b.sdb"), h.path("vault")
    inst.export(bundle)
    rv.import_(bundle, vault, extra=["--instance-fingerprint", inst.fingerprint], expect=0)
    sid = rv.list(vault)[0]["id"]

    h.step("extract --scrub")
    out = h.path("out/deep/er")  # parents made
    r = h.run([h.review_bin, "extract", sid, "--vault", vault, "--key", rv.key,
               "--passphrase-file", rv.passfile, "--out", out, "--scrub"], expect=0)
    err = r.stderr
    names = sorted(os.listdir(out))
    check(names == sorted(list(files) + ["message.txt"]),
          "extract --scrub left %s, not the files as named (no originals, no work files)" % names)

    photo = exif(os.path.join(out, "photo.jpg"))
    for tag in ("GPSLatitude", "GPSLongitude", "GPSPosition", "Artist", "Make", "Model"):
        check(tag not in photo, "the scrubbed JPEG still has %s:\n%s" % (tag, photo))
    check(re.search(r"photo\.jpg: image/jpeg, scrubbed: mat2 removed \d+ fields:", err) and
          "  GPSLatitude: 55 deg" in err and "  Artist: Ivan Petrov" in err,
          "the report does not say what went from the JPEG:\n" + err)
    pdf = exif(os.path.join(out, "report.pdf"))
    check("Ivan Petrov" not in pdf and "Ministry" not in pdf,
          "the scrubbed PDF still has its author or producer:\n" + pdf)
    check("  author: Ivan Petrov" in err, "the report does not name the PDF's author:\n" + err)

    check(re.search(r"warning: .*/form\.pdf: JavaScript \(application/pdf\)", err),
          "the PDF with JavaScript was not flagged:\n" + err)
    check(re.search(r"warning: .*/invoice\.docm: Office macros \(application/vnd\."
                    r"openxmlformats-officedocument\.wordprocessingml\.document\)", err),
          "the .docm with a macro was not flagged:\n" + err)
    check(re.search(r"warning: .*/invoice\.pdf: an executable or script "
                    r"\(application/x-(pie-)?executable\)", err),
          "the program named invoice.pdf was not flagged by its real type:\n" + err)
    check(re.search(r"/invoice\.pdf: application/x-(pie-)?executable, not scrubbed:", err),
          "the program was not said to be left as sent:\n" + err)
    with open(os.path.join(out, "invoice.pdf"), "rb") as a, open("/bin/true", "rb") as b:
        check(a.read() == b.read(), "a file mat2 cannot clean was changed")
    check(not re.search(r"warning: .*/(photo\.jpg|report\.pdf|notes\.txt)", err),
          "a harmless file was flagged:\n" + err)
    check(re.search(r"notes\.txt: text/plain, not scrubbed: mat2 does not clean text/plain|"
                    r"notes\.txt: text/plain, scrubbed", err),
          "the text file's outcome is not reported:\n" + err)

    h.step("--keep-original, into the same directory")
    r = h.run([h.review_bin, "extract", sid, "--vault", vault, "--key", rv.key,
               "--passphrase-file", rv.passfile, "--out", out, "--scrub", "--keep-original"],
              expect=0)
    kept = os.path.join(out, "photo (2).original.jpg")
    check(os.path.exists(kept), "the original was not kept as 'photo (2).original.jpg': %s\n%s" %
          (sorted(os.listdir(out)), r.stderr))
    check("GPSLatitude" in exif(kept), "the kept original lost its metadata")
    check("GPSLatitude" not in exif(os.path.join(out, "photo (2).jpg")),
          "the second clean copy has GPS tags")
    check("GPSLatitude" not in exif(os.path.join(out, "photo.jpg")),
          "the first extract's clean copy was replaced")
    check(not [n for n in os.listdir(out) if n.startswith(".scrub-")],
          "a work directory was left behind: %s" % os.listdir(out))

    r = h.run([h.review_bin, "extract", sid, "--vault", vault, "--key", rv.key,
               "--passphrase-file", rv.passfile, "--out", h.path("x"), "--keep-original"],
              expect=2)
    check("--keep-original goes with --scrub" in r.stderr, r.stderr)


if __name__ == "__main__":
    harness.Harness("scrub", __doc__).main(test)
