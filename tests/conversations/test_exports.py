import subprocess
import sys

import conversations


def test_every_exported_name_exists_once() -> None:
    for name in conversations.__all__:
        assert hasattr(conversations, name), name
    assert len(set(conversations.__all__)) == len(conversations.__all__)


def test_conversations_never_imports_the_other_domain_packages() -> None:
    # intake's orders take identity keys from here; an import back would be a cycle.
    code = (
        "import sys, conversations; sys.exit(any(m.split('.')[0] in ('intake', 'handoff', 'kb') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
