"Sweeps through the command line: resume after a kill, two sweeps writing one store at once, reports."
import os, shutil, signal, sqlite3, subprocess, sys, time
from pathlib import Path
import pytest

EXE = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
ENV = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')   # tiny models: one thread each, two processes at once

def sweep(*args, **kw):
    return subprocess.Popen([EXE, 'sweep', *map(str, args), '--dataset', 'digits', '--quiet'], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

def rows(store, sql):
    with sqlite3.connect(store, timeout=30) as c: return c.execute(sql).fetchall()

def finished(store):
    try: return dict(rows(store, "SELECT key, finished FROM runs WHERE status='finished'"))
    except sqlite3.OperationalError: return {}

def test_kill_midway_and_resume(tmp_path):
    store = tmp_path/'runs.sqlite'
    args = ('fig1b', '--archs', 'mlp1x512', '--epochs', 15, '--store', store)
    p = sweep(*args)
    t0 = time.time()
    while len(finished(store)) < 2 and p.poll() is None and time.time()-t0 < 300: time.sleep(0.2)
    assert p.poll() is None, "the sweep ended before it could be killed midway"
    p.send_signal(signal.SIGKILL); p.wait()
    before = finished(store)
    assert 2 <= len(before) < 6
    # the interrupted run is in the store but not finished
    assert rows(store, "SELECT count(*) FROM runs WHERE status!='finished'")[0][0] >= 1
    out, err = sweep(*args).communicate(timeout=600)
    after = finished(store)
    assert len(after) == 6, err[-2000:]
    for k, t in before.items(): assert after[k] == t       # finished runs were skipped, not redone
    assert rows(store, "SELECT count(*) FROM runs")[0][0] == 6
    hist = rows(store, "SELECT key, count(*), count(DISTINCT epoch) FROM history GROUP BY key")
    assert len(hist) == 6 and all(n == d and n >= 2 for _, n, d in hist)
    # a third run has nothing left to do
    out, err = sweep(*args).communicate(timeout=300)
    assert '0 run(s) trained' in out and finished(store) == after

def test_two_sweeps_one_store(tmp_path):
    store = tmp_path/'runs.sqlite'
    ps = [sweep('fig1a', '--archs', 'mlp1x512', '--epochs', 6, '--store', store),
          sweep('table1', '--archs', 'mlp3x512', '--epochs', 6, '--store', store)]
    res = [p.communicate(timeout=600) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in res]
    f = rows(store, "SELECT c.arch, count(*) FROM (SELECT json_extract(config, '$.arch') AS arch FROM runs WHERE status='finished') c GROUP BY c.arch")
    assert dict(f) == {'mlp1x512': 5, 'mlp3x512': 3}
    assert rows(store, "PRAGMA integrity_check")[0][0] == 'ok'
    # reports from that store
    r = subprocess.run([EXE, 'report', 'fig1a', '--store', str(store), '--archs', 'mlp1x512', '--out', str(tmp_path/'rep')],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'rep'/'fig1a.png').stat().st_size > 5000
    r = subprocess.run([EXE, 'report', 'table1', '--store', str(store), '--archs', 'mlp3x512', '--out', str(tmp_path/'rep')],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode == 0, r.stderr
    md = (tmp_path/'rep'/'table1.md').read_text()
    ours = [l for l in md.split('## Runs')[0].splitlines() if l.startswith('| mlp3x512')]
    assert len(ours) == 3 and all(l.split('|')[5].strip() not in ('-', '') for l in ours), md
    assert 'digits' in md and '52.39' in md                      # the scale is stated, the paper's figure beside ours
