"""Publication figures: real PNGs of at least 800x500, true vector SVG and PDF (vector axes and text, only the
heatmaps rasterized), reproducible bytes, the style kept local, and the `figure` command."""

import re
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

pytest.importorskip("matplotlib")

from checkerlab.analytics import studies  # noqa: E402
from checkerlab.analytics.presentation import figures, style  # noqa: E402
from checkerlab.app.cli import main  # noqa: E402

SVG = "{http://www.w3.org/2000/svg}"


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def svg_elements(path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    counts: dict[str, int] = {}
    for el in root.iter():
        tag = el.tag.removeprefix(SVG)
        counts[tag] = counts.get(tag, 0) + 1
    return counts


def pdf_streams(path) -> list[bytes]:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    out = []
    for m in re.finditer(rb"/Filter\s*/FlateDecode.*?stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return out


def check_files(tmp_path, fig, name: str, images: int) -> None:
    """PNG >= 800x500; SVG and PDF vector: paths for axes and text, exactly `images` embedded raster images
    (the heatmaps and their colour bars' gradients, both rasterized on purpose)."""
    for ext in (".png", ".svg", ".pdf"):
        figures.save_figure(fig, tmp_path / f"{name}{ext}")
    w, h = png_size(tmp_path / f"{name}.png")
    assert w >= 800 and h >= 500, (name, w, h)
    counts = svg_elements(tmp_path / f"{name}.svg")
    assert counts.get("image", 0) == images, (name, counts.get("image"))
    assert counts.get("path", 0) + counts.get("use", 0) > 100  # axes, ticks, glyphs: vector
    pdf = (tmp_path / f"{name}.pdf").read_bytes()
    assert pdf.count(b"/Subtype /Image") == images
    assert b"/FontFile2" in pdf  # TrueType (fonttype 42) text, not bitmaps
    content = b"".join(pdf_streams(tmp_path / f"{name}.pdf"))
    assert b" re" in content and b" l" in content and b"Tj" in content or b"TJ" in content


def test_overlap_figure_is_a_real_vector_figure(tmp_path):
    fig = figures.overlap_figure("ConvTranspose2d(3, stride=2) * 2", (32, 32))
    check_files(tmp_path, fig, "column", images=8)
    assert tuple(fig.get_size_inches()) == (style.COLUMN, 3.0)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["(a) exact overlap", "(b) simulated output", "(c) spectrum of (a)", "(d) spectrum of (b)"]
    every = fig.axes + [child for ax in fig.axes for child in ax.child_axes]  # colour bars are insets
    labels = {ax.get_xlabel() for ax in every} | {ax.get_ylabel() for ax in every}
    assert {"output column j", "output row i", "$f_x$ (cycles/pixel)", "overlap count", "|DFT| / max"} <= labels
    page = figures.overlap_figure("ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 3", (16, 16),
                                  size="page")
    assert page.get_size_inches()[0] == style.PAGE
    check_files(tmp_path, page, "page", images=8)


def test_spectrum_marks_the_exact_frequencies(tmp_path):
    fig = figures.overlap_figure("ConvTranspose2d(3, stride=2)", (16, 16))
    spectrum = fig.axes[2]  # panel (c)
    marks = {tuple(map(float, p)) for c in spectrum.collections for p in c.get_offsets()}
    # period 2: (0, 1/2), (1/2, 0), (1/2, 1/2) and their conjugates, drawn at -1/2 (fftshift's bin)
    assert marks == {(-0.5, 0.0), (0.0, -0.5), (-0.5, -0.5)}
    image = spectrum.images[0].get_array()
    assert image.shape == (16, 16) and image.max() == 1  # 8 periods of 2


def test_saved_bytes_are_reproducible_and_the_style_stays_local(tmp_path):
    import matplotlib
    before = dict(matplotlib.rcParams)
    for i in range(2):
        fig = figures.study_figure(studies.run("depth"))
        figures.save_figure(fig, tmp_path / f"{i}.svg")
        figures.save_figure(fig, tmp_path / f"{i}.pdf")
    assert (tmp_path / "0.svg").read_bytes() == (tmp_path / "1.svg").read_bytes()
    assert (tmp_path / "0.pdf").read_bytes() == (tmp_path / "1.pdf").read_bytes()
    assert dict(matplotlib.rcParams) == before


@pytest.mark.parametrize("name, images", [("overlap-rule", 4), ("depth", 0), ("smoothing", 0),
                                          ("brightness", 0), ("base", 0), ("gradient", 2)])
def test_every_study_figure_is_a_real_vector_figure(tmp_path, name, images):
    result = studies.run(name, draws=4, workers=1)
    fig = figures.study_figure(result)
    check_files(tmp_path, fig, name, images)
    assert all(ax.get_xlabel() for ax in fig.axes if ax.has_data() and ax.get_label() != "<colorbar>")


def test_figure_command(tmp_path, capsys):
    out = tmp_path / "f.pdf"
    assert main(["figure", "ConvTranspose2d(4, stride=2, padding=1)", "--out", str(out), "--size", "page",
                 "--input-size", "12", "12", "--seed", "3"]) == 0
    assert out.read_bytes().startswith(b"%PDF") and capsys.readouterr().out == f"wrote {out}\n"
    assert main(["figure", "ConvTranspose2d(3, stride=2)", "--out", str(tmp_path / "f.txt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"checkerlab: error: {tmp_path / 'f.txt'}: unknown figure format '.txt'; use .png, .svg or .pdf"
    assert not (tmp_path / "f.txt").exists()


def test_latex_report_embeds_the_figure_and_compiles(tmp_path):
    """`export_latex` (what `analyze --latex` writes) includes `latex_figure` when matplotlib is installed, and
    the report compiles with pdflatex."""
    import shutil
    import subprocess

    from checkerlab.analytics.presentation.latex import export_latex
    exe = shutil.which("pdflatex")
    if exe is None:
        pytest.skip("pdflatex is not installed")
    stack = "ConvTranspose2d(3, stride=2, padding=1, output_padding=1) * 2"
    tex = export_latex(stack, tmp_path / "report.tex", (16, 16))
    assert (tmp_path / "report-figure.pdf").exists() and r"\includegraphics{report-figure.pdf}" in tex.read_text()
    run = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape", tex.name],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    log = (tmp_path / "report.log").read_text(errors="replace")
    assert "<report-figure.pdf" in log and "Undefined control sequence" not in log
