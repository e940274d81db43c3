// MathJax is not bundled: formulas are shown as TeX.
