"""The public surface of `fedring`, and the rule that the core never loads Prefect or torch."""

import subprocess
import sys

import fedring


def test_every_exported_name_exists_and_is_listed_once():
    assert len(fedring.__all__) == len(set(fedring.__all__))
    for name in fedring.__all__:
        assert hasattr(fedring, name), name


def test_importing_the_core_loads_neither_prefect_nor_torch():
    code = "import sys, fedring, fedring.cli; print(sorted(m for m in ('prefect', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
