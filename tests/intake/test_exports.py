import subprocess
import sys

import intake


def test_every_exported_name_exists_once() -> None:
    for name in intake.__all__:
        assert hasattr(intake, name), name
    assert len(set(intake.__all__)) == len(intake.__all__)


def test_intake_never_imports_handoff() -> None:
    # handoff takes Priority from intake.models; an import back would be a cycle.
    code = "import sys, intake; sys.exit(any(m == 'handoff' or m.startswith('handoff.') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
