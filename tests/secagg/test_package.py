import subprocess
import sys

import fedring.secagg as secagg


def test_exported_names_exist_and_are_sorted():
    assert secagg.__all__ == sorted(secagg.__all__)
    assert all(hasattr(secagg, name) for name in secagg.__all__)


def test_docstring_lists_the_stages_in_order():
    doc = secagg.__doc__
    stages = ["advertise", "share", "mask", "ring", "reveal", "unmask", "dequantise"]
    positions = [doc.index(f"{i}. {s}") for i, s in enumerate(stages, 1)]
    assert positions == sorted(positions)


def test_no_prefect_import():
    code = "import sys, fedring.secagg; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
