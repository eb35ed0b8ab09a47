"`python docs/build.py` without Sphinx says which extra to install, instead of failing on an import."
import importlib.util, sys
from pathlib import Path
import pytest
sys.path.insert(0, str(Path(__file__).resolve().parent.parent/'docs'))
import build

def test_missing_sphinx_names_the_docs_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: None if name in ('sphinx', 'myst_nb') else real(name, *a))
    assert build.missing_requirements() == ['sphinx', 'myst-nb']
    with pytest.raises(SystemExit) as e: build.build(quiet=True)
    assert str(e.value) == "the docs build needs sphinx, myst-nb: install the docs extra, pip install -e '.[docs]'"

def test_nothing_missing_here():
    assert build.missing_requirements() == []
