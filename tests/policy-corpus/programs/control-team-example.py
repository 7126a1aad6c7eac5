# secure: true
# cli: true
"""The shipped team example (stacks/teams/example), run as it is."""
import runpy
from pathlib import Path

import maas_platform

runpy.run_path(str(Path(maas_platform.__file__).resolve().parents[2] / "stacks" / "teams" / "example" / "__main__.py"),
               run_name="__main__")
