"""Saving figures: the PDF is written again exactly when the PNG changes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from closerlook.plots import save_figure


def _figure(y):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1, 2], y)
    return fig


def test_the_same_figure_keeps_its_pdf_and_a_changed_one_rewrites_both(tmp_path):
    png, pdf = save_figure(_figure([0, 1, 0]), "f", tmp_path)
    first_png, first_pdf = png.read_bytes(), pdf.read_bytes()
    pdf.write_bytes(b"kept")                      # a marker: only a rewrite would replace it
    save_figure(_figure([0, 1, 0]), "f", tmp_path)
    assert png.read_bytes() == first_png and pdf.read_bytes() == b"kept"
    save_figure(_figure([0, 2, 0]), "f", tmp_path)
    assert png.read_bytes() != first_png
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.read_bytes() != first_pdf


def test_a_run_stopped_between_the_two_files_writes_both_next_time(tmp_path):
    save_figure(_figure([0, 1, 0]), "f", tmp_path)
    (tmp_path / "f.png").write_bytes(b"an older png")   # what a stop after the PDF and before the PNG leaves
    (tmp_path / "f.pdf").write_bytes(b"kept")
    png, pdf = save_figure(_figure([0, 1, 0]), "f", tmp_path)
    assert png.read_bytes().startswith(b"\x89PNG") and pdf.read_bytes().startswith(b"%PDF")


def test_a_missing_pdf_is_written(tmp_path):
    png, pdf = save_figure(_figure([0, 1, 0]), "f", tmp_path)
    pdf.unlink()
    save_figure(_figure([0, 1, 0]), "f", tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
