"""The wheel built from the repository: its entry points, and dependencies that are exactly what the package imports.
(That it installs and runs `rethink demo` in a fresh virtual environment is checked by hand: see the lead's report.)"""
import importlib.metadata as md, re, subprocess, sys, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
OPTIONAL = {'ray', 'submitit', 'wandb', 'tensorboard'} # imported only when a cluster executor or a tracker is asked for

@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', str(ROOT), '--no-deps', '--no-build-isolation', '-w', str(out), '-q'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob('rethink_fastai-*.whl')
    return zipfile.ZipFile(whl)

def _read(whl, name): return whl.read(next(n for n in whl.namelist() if n.endswith(name))).decode()

def _dist(req:str)->str: return re.split(r'[<>=!~;\[ ]', req, maxsplit=1)[0].lower().replace('_', '-')

def imported_dists()->set:
    "The distributions whose modules the package imports (standard library and the kit itself left out)"
    mods = set()
    for p in (ROOT/'rethink_fastai').glob('*.py'):
        for m in re.findall(r'^\s*(?:from|import)\s+([A-Za-z_]\w*)', p.read_text(), re.M): mods.add(m)
    mods -= set(sys.stdlib_module_names) | {'rethink_fastai', '__future__'}
    dists = md.packages_distributions()
    return {dists[m][0].lower() for m in mods if m in dists} | {m for m in mods if m not in dists}

def test_entry_points(wheel):
    ep = _read(wheel, 'entry_points.txt')
    assert 'rethink = rethink_fastai.cli:rethink' in ep
    assert '[rethink_fastai.plugins]' in ep and 'rethink_fastai.distributed' in ep and 'rethink_fastai.imagenet' in ep

def test_every_module_is_in_the_wheel(wheel):
    mods = {Path(n).stem for n in wheel.namelist() if n.startswith('rethink_fastai/') and n.endswith('.py')}
    assert mods == {p.stem for p in (ROOT/'rethink_fastai').glob('*.py')}

def test_dependencies_are_what_the_package_imports(wheel):
    meta = _read(wheel, 'METADATA')
    reqs = re.findall(r'^Requires-Dist: (.+)$', meta, re.M)
    base = {_dist(r) for r in reqs if 'extra ==' not in r}
    extras = {_dist(r) for r in reqs if 'extra ==' in r}
    used = {d.replace('_', '-') for d in imported_dists()}
    assert 'nbdev' not in base and 'nbdev' not in used                       # nbdev builds the package; it is not imported
    assert used - OPTIONAL == base, (used - OPTIONAL) ^ base                   # every import is a dependency, and no more
    assert OPTIONAL <= extras
