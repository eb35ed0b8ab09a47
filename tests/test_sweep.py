"Sweeps through the command line and in Python: resume after a kill, sweeps of one spec at once (some killed), `processes`, reports."
import json, os, re, shutil, signal, sqlite3, subprocess, sys, time
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


COUNTS = re.compile(r'(\d+) run\(s\) trained, (\d+) already finished, (\d+) failed, (\d+) skipped \(running elsewhere\)(?:, (\d+) superseded)?')

def counts(out):
    "The sweep's closing counts: trained, already finished, failed, running elsewhere, superseded"
    m = COUNTS.search(out)
    assert m, out[-2000:]
    return [int(g or 0) for g in m.groups()]

def test_two_sweeps_same_spec_train_each_run_once(tmp_path):
    store = tmp_path/'runs.sqlite'
    args = ('fig1b', '--archs', 'mlp1x512', '--epochs', 3, '--store', store)
    ps = [sweep(*args), sweep(*args)]
    res = [p.communicate(timeout=600) for p in ps]
    assert all(p.returncode == 0 for p in ps), [e[-2000:] for _, e in res]
    cs = [counts(out) for out, _ in res]
    assert sum(c[0] for c in cs) == 6                       # 6 runs, 6 trainings between the two sweeps
    assert all(sum(c[:4]) == 6 and c[2] == c[4] == 0 for c in cs), cs
    assert rows(store, "SELECT status, count(*), sum(attempts) FROM runs GROUP BY status") == [('finished', 6, 6)]

def test_three_sweeps_some_killed(tmp_path):
    "Three sweeps of one spec at once, two SIGKILLed midway, then one more: every run finished, each trained to the end once"
    store = tmp_path/'runs.sqlite'
    args = ('fig1b', '--archs', 'mlp1x512', '--epochs', 3, '--seeds', 0, 1, '--store', store)
    ps = [sweep(*args) for _ in range(3)]
    def wait_finished(n):
        t0 = time.time()
        while len(finished(store)) < n and ps[2].poll() is None and time.time()-t0 < 300: time.sleep(0.1)
    killed = []
    for p, n in ((ps[0], 2), (ps[1], 5)):
        wait_finished(n)
        if p.poll() is None: p.send_signal(signal.SIGKILL); p.wait(); killed.append(p.pid)
    assert len(killed) == 2, "the sweeps ended before they could be killed"
    out3, err3 = ps[2].communicate(timeout=600)
    assert ps[2].returncode == 0, err3[-2000:]
    out4, err4 = sweep(*args).communicate(timeout=600)      # the rest: what the killed sweeps held when the third passed
    c3, c4 = counts(out3), counts(out4)
    by_killed = rows(store, f"SELECT count(*) FROM runs WHERE status='finished' AND pid IN ({','.join(map(str, killed))})")[0][0]
    assert rows(store, "SELECT status, count(*) FROM runs GROUP BY status") == [('finished', 12)]   # none lost
    assert c3[0] + c4[0] + by_killed == 12, (c3, c4, by_killed)                                  # none trained twice
    assert c3[2] == c3[4] == c4[2] == c4[4] == 0 and c4[3] == 0
    assert rows(store, "SELECT count(*), count(DISTINCT key) FROM runs")[0] == (12, 12)
    hist = rows(store, "SELECT key, count(*), count(DISTINCT epoch) FROM history GROUP BY key")
    assert len(hist) == 12 and all(n == d and n >= 2 for _, n, d in hist)
    print(f"\nkilled sweeps finished {by_killed} runs; the third trained {c3[0]} (skipped {c3[3]} running elsewhere); "
          f"the last trained {c4[0]}; attempts {rows(store, 'SELECT sum(attempts) FROM runs')[0][0]}")

def test_local_processes(tmp_path, capsys):
    "`processes=2`: two runs at once, in worker processes, each with the run's thread count; a failed run raises `SweepFailed` at the end"
    from rethink_fastai.sweep import sweep as run_sweep, SweepFailed
    from rethink_fastai.store import Store
    kw = dict(dataset='digits', epochs=2, spec_kwargs=dict(archs=('mlp1x512',)), train_kwargs=dict(threads=1),
              executor_kwargs=dict(processes=2))
    df = run_sweep('fig1b', tmp_path/'runs.sqlite', **kw)
    assert len(df) == 6 and counts(capsys.readouterr().out)[:4] == [6, 0, 0, 0]
    t = rows(tmp_path/'runs.sqlite', "SELECT started, finished FROM runs ORDER BY started")
    assert t[1][0] < t[0][1]                                # the second run was drawn before the first ended
    with Store(tmp_path/'runs.sqlite') as st: assert {st.record(k)['threads'] for k in df.key} == {1}
    with pytest.raises(SweepFailed) as e:                    # no such model: every run fails, in its worker
        run_sweep('fig1b', tmp_path/'runs2.sqlite', **{**kw, 'spec_kwargs': dict(archs=('no_such_arch',))})
    assert e.value.counts['failed'] == 6 and len(e.value.runs) == 0

def test_empty_filter_is_an_error(tmp_path):
    r = subprocess.run([EXE, 'sweep', 'table1', '--archs', 'mlp2x512', '--dataset', 'digits', '--store', str(tmp_path/'r.sqlite')],
                       capture_output=True, text=True, env=ENV)
    assert r.returncode != 0 and 'archs can be: alexnet_small, inception_small' in r.stdout + r.stderr
    assert not (tmp_path/'r.sqlite').exists()
