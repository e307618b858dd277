"""The exceptions the kittengrad package raises."""


class ScenarioError(ValueError):
    """A scenario file, text or override was refused. The message names the key, and the
    file and line where there is one, and says what is allowed."""


class SimulationError(RuntimeError):
    """A simulation could not run to the end (not a bad scenario: a crash or an internal
    error). The message carries what the simulator said."""


class NativeModuleMissing(ImportError):
    """The compiled part of the package (kittengrad._native) is not importable."""
