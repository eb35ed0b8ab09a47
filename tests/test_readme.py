"README.md is the rendered nbs/index.ipynb, and its two commands are the ones CI and users run."
import re, subprocess, sys
from pathlib import Path
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root/'docs'))
import readme

def commands():
    return re.findall(r"```sh\n(.+?)\n```", (root/'README.md').read_text())

def test_readme_matches_index():
    assert (root/'README.md').read_text() == readme.render(), "README.md is stale: run python docs/readme.py"

def test_two_commands():
    cmds = commands()
    assert len(cmds) == 2, cmds
    assert 'rethink ' in cmds[0] and 'pip install' in cmds[0]
    assert 'nbdev-test' in cmds[1] and 'pytest' in cmds[1]

def test_ci_runs_the_readme_test_command():
    assert commands()[1] in (root/'.ci'/'run').read_text()

def test_render_detects_a_change(tmp_path):
    import json
    nb = json.loads((root/'nbs'/'index.ipynb').read_text())
    nb['cells'][0]['source'] = ['# something else']
    (tmp_path/'i.ipynb').write_text(json.dumps(nb))
    assert readme.render(tmp_path/'i.ipynb') != (root/'README.md').read_text()
