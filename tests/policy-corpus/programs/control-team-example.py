# secure: true
# cli: true
"""The shipped team example (stacks/teams/example), run as it is, its golden sets beside it: their
paths are relative to the project directory, which here is the case's."""
import runpy
import shutil
from pathlib import Path

import maas_platform

EXAMPLE = Path(maas_platform.__file__).resolve().parents[2] / "stacks" / "teams" / "example"
shutil.copytree(EXAMPLE / "golden", Path(__file__).resolve().parent / "golden", dirs_exist_ok=True)
runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")
