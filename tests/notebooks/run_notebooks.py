"""Executes every notebook of notebooks/ headless, as `make test` does, and checks it.

    /usr/bin/python3 tests/notebooks/run_notebooks.py OUT_DIR [NOTEBOOK...]

Each notebook runs with KG_NOTEBOOK_SIZE=small (a minute or two each) on a kernel of this
very interpreter (a kernelspec made for the run: a `python3` kernel found elsewhere on
the machine might lack Debian's packages). The executed copy, figures embedded as PNG,
goes to OUT_DIR/NAME.ipynb, and each figure also to OUT_DIR/NAME/figure-K.png. Fails
(exit 1) when a cell raises, when a notebook draws no figure, or when an executed
notebook holds an error output.
"""

import base64
import json
import os
import pathlib
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[2]
KERNEL = "kittengrad-test-python3"
CELL_TIMEOUT_S = 600


def make_kernelspec(folder):
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "kittengrad tests", "language": "python"}))
    os.environ["JUPYTER_PATH"] = str(folder)


def figures(nb):
    """The PNG images in the notebook's outputs, in order."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            png = o.get("data", {}).get("image/png")
            if png:
                out.append(base64.b64decode(png))
    return out


def errors(nb):
    return [o for cell in nb.cells for o in cell.get("outputs", [])
            if o.get("output_type") == "error"]


def run(path, out_dir):
    nb = nbformat.read(path, as_version=4)
    started = time.monotonic()
    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(path.parent)}})
    problem = None
    try:
        client.execute()
    except CellExecutionError as e:
        problem = f"a cell raised:\n{e}"
    nbformat.write(nb, out_dir / path.name)
    pngs = figures(nb)
    fig_dir = out_dir / path.stem
    fig_dir.mkdir(exist_ok=True)
    for k, png in enumerate(pngs, 1):
        (fig_dir / f"figure-{k}.png").write_bytes(png)
    if problem is None and errors(nb):
        problem = "an error output is in the executed notebook"
    if problem is None and not pngs:
        problem = "no figure was drawn"
    took = time.monotonic() - started
    print(f"{path.name}: {'ok' if problem is None else 'FAILED'} in {took:.0f} s, "
          f"{len(pngs)} figures -> {out_dir / path.name}", flush=True)
    if problem:
        print(problem, file=sys.stderr)
    return problem is None


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir = pathlib.Path(argv[0]).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    notebooks = [pathlib.Path(p).resolve() for p in argv[1:]] or sorted(
        (ROOT / "notebooks").glob("*.ipynb"))
    if not notebooks:
        print("no notebooks found", file=sys.stderr)
        return 1
    os.environ.setdefault("KG_NOTEBOOK_SIZE", "small")
    os.environ.setdefault("KG_ROOT", str(ROOT))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugger noise
    with tempfile.TemporaryDirectory(prefix="kg-kernels-") as tmp:
        make_kernelspec(pathlib.Path(tmp))
        ok = [run(p, out_dir) for p in notebooks]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
