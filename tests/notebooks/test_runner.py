"""run_notebooks.py fails on a notebook whose assert fails: the notebooks' asserts of
their headline claims are only worth something if a false one fails `make test`.

Two one-cell-of-work notebooks, identical but for the assert's truth: the runner must
pass the true one and fail the false one, naming the assertion.
"""
import pathlib
import subprocess
import sys

import nbformat

RUNNER = pathlib.Path(__file__).resolve().parent / "run_notebooks.py"

FIGURE = """import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1]);"""


def notebook(path, claim):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(FIGURE),
                nbformat.v4.new_code_cell(f"assert {claim}, 'the claim {claim} is false'"),
                nbformat.v4.new_code_cell("print('after the claim')")]
    nbformat.write(nb, path)
    return path


def run(tmp_path, nb):
    return subprocess.run([sys.executable, str(RUNNER), str(tmp_path / "out"), str(nb)],
                          capture_output=True, text=True, timeout=300)


def test_a_true_assert_passes(tmp_path):
    r = run(tmp_path, notebook(tmp_path / "true.ipynb", "1 + 1 == 2"))
    assert r.returncode == 0, r.stderr
    assert "true.ipynb: ok" in r.stdout


def test_a_false_assert_fails_the_run(tmp_path):
    r = run(tmp_path, notebook(tmp_path / "false.ipynb", "1 + 1 == 3"))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    assert "false.ipynb: FAILED" in r.stdout
    assert "AssertionError" in r.stderr and "the claim 1 + 1 == 3 is false" in r.stderr
