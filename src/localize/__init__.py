"""localize: dub and subtitle Chinese microdramas for overseas markets."""

__version__ = "0.1.0"

import os as _os

# OpenMP threads that spin while idle starve the other stage threads on small machines;
# this must be set before torch is first imported.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
