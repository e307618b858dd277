"""kittengrad: run, load and analyse simulations and live runs of the kittengrad overlay.

For now this package holds ``kittengrad.plots`` (the plots behind ``kittengrad report``,
and ``read_run``, which reads a run file into pandas DataFrames). The Python issue adds
``Scenario``, ``simulate``, ``Run``, ``load`` and ``sweep`` here (DESIGN.md, "Python").

Importing the package stays cheap: it imports no numpy, pandas, h5py or matplotlib;
submodules import what they need.
"""
