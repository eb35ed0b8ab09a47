"The kit's layers: a module imports only the layers below it (at the top or inside a function), never one above."
import re
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parent.parent/'rethink_fastai'
# lowest first; the optional modules (plugins) sit above the layers they register into
ORDER = ['data', 'randomize', 'loaders', 'models', 'callbacks', 'learner', 'experiments', 'store', 'sweep', 'report',
         'theory', 'distributed', 'imagenet', 'scores', 'measures', 'noise', 'stack', 'bench_report', 'bench', 'demo', 'all', 'cli']

def imports(name:str)->set:
    "The kit's modules that module `name` imports, anywhere in its source"
    src = (PKG/f'{name}.py').read_text()
    mods = set(re.findall(r'(?:from|import)\s+rethink_fastai\.(\w+)', src))
    mods |= set(re.findall(r'from\s+\.(\w+)\s+import', src))
    for grp in re.findall(r'from\s+rethink_fastai\s+import\s+\(?([\w\s,]+(?:as\s+\w+[\s,]*)*)\)?', src):
        mods |= {w.split()[0] for w in grp.replace('\n', ' ').split(',') if w.strip()}
    return {m for m in mods if m in ORDER} - {name}

def test_every_module_has_a_layer():
    assert sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_')) == sorted(ORDER)

@pytest.mark.parametrize('name', ORDER)
def test_imports_only_lower_layers(name):
    above = [m for m in imports(name) if ORDER.index(m) > ORDER.index(name)]
    assert not above, f"{name} imports {above}, above it"

def test_sweep_names_no_plugin():
    "The optional modules register themselves; `sweep` finds them through entry points, never by name"
    src = (PKG/'sweep.py').read_text()
    assert 'distributed' not in src and 'imagenet' not in src

def test_no_benchmarks_in_models():
    src = (PKG/'models.py').read_text()
    assert 'perf_counter' not in src and 'def bench' not in src and 'throughput' not in src
