"""`rethink_fastai.bench.bench` at a tiny scale on synthetic data: the results' files and fields exist and the ratios
are computed from the measured epochs. Timings are not asserted (this machine is shared and noisy)."""
import json, statistics
from pytest import approx
from rethink_fastai.bench import bench, CONTENDERS

def test_bench_tiny(tmp_path):
    r = bench(subset=200, epochs=2, models=('mlp1x512',), out=tmp_path, threads=1, profile=True, log=None)
    j = json.loads((tmp_path/'bench.json').read_text())
    assert j['models'].keys() == r['models'].keys() == {'mlp1x512'}
    assert 'synthetic' in j['data'] and j['settings']['precision'] == 'fp32'
    assert (tmp_path/'bench.md').read_text().startswith('# rethink bench')
    assert (tmp_path/'bench.png').read_bytes()[:4] == b'\x89PNG'
    m = j['models']['mlp1x512']
    assert set(m['contenders']) == set(CONTENDERS) and m['n_train'] == 200
    for c, s in m['contenders'].items():
        assert len(s['epochs_s']) == 2 and s['first_epoch_s'] > 0 and s['epoch_s'] == statistics.median(s['epochs_s'])
        assert s['images_per_epoch'] == 200 // 128 * 128 and s['images_per_s'] > 0
        assert s['eval_s'] > 0 and s['eval_images'] == 200 and s['peak_rss_mb'] > s['base_rss_mb'] > 0
    kit, lim, fa = (m['contenders'][c] for c in ('kit', 'limit', 'fastai_default'))
    pairs = [k/l for k, l in zip(kit['epochs_s'], lim['epochs_s'])]
    assert m['kit_over_limit_pairs'] == pairs and m['kit_over_limit_time'] == statistics.median(pairs)
    assert m['fastai_default_over_kit_time'] == approx(statistics.median(f/k for f, k in zip(fa['epochs_s'], kit['epochs_s'])))
    assert m['kit_over_limit_rss'] == kit['peak_rss_mb'] / lim['peak_rss_mb']
    assert 'recorder_eval_s' in kit and 'fit_epoch_s' in fa and fa['num_workers'] >= 0 and kit['setup_s'] > 0
    for p in m['profiles']: assert (tmp_path/p).read_text().startswith('one training epoch')
    assert {t['figure'] for t in j['targets']} == {'kit_over_limit_time', 'kit_over_limit_once_time', 'fastai_default_over_kit_time', 'kit_over_limit_rss'}
    once = m['contenders']['limit_once']
    pairs_once = [k/l for k, l in zip(kit['epochs_s'], once['epochs_s'])]
    assert m['kit_over_limit_once_pairs'] == pairs_once and m['kit_over_limit_once_time'] == statistics.median(pairs_once)

def test_bench_repeats(tmp_path):
    "`repeats`: each run in new processes; the time ratios are medians over every run's pairs, each run's figures kept"
    r = bench(subset=200, epochs=2, models=('mlp1x512',), out=tmp_path, threads=1, profile=False, contenders=('kit', 'limit'), repeats=2, log=None)
    m = r['models']['mlp1x512']
    assert r['settings']['repeats'] == 2 and len(m['repeats']) == 2
    kit, lim = m['contenders']['kit'], m['contenders']['limit']
    assert len(kit['epochs_s']) == len(lim['epochs_s']) == 4 and kit['epoch_s'] == statistics.median(kit['epochs_s'])
    pairs = [k/l for k, l in zip(kit['epochs_s'], lim['epochs_s'])] # the rounds of both runs, in order
    assert m['kit_over_limit_pairs'] == approx(pairs) and m['kit_over_limit_time'] == approx(statistics.median(pairs))
    assert m['kit_over_limit_rss'] == approx(statistics.median(x['kit_over_limit_rss'] for x in m['repeats']))
    assert 'new processes' in (tmp_path/'bench.md').read_text()
    try: bench(subset=200, models=('mlp1x512',), out=tmp_path, repeats=0, log=None); assert False
    except ValueError as e: assert 'repeats' in str(e)

def test_rethink_bench_command(tmp_path):
    "`rethink bench` from the command line: per-model subsets, one model, the files written"
    import os, shutil, subprocess, sys
    from pathlib import Path
    exe = shutil.which('rethink') or str(Path(sys.executable).parent/'rethink')
    r = subprocess.run([exe, 'bench', '--subset', 'mlp1x512=200', '--models', 'mlp1x512', '--epochs', '1', '--threads', '1',
                        '--repeats', '2', '--out', str(tmp_path)], capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    j = json.loads((tmp_path/'bench.json').read_text())
    assert j['settings']['subset'] == {'mlp1x512': 200} and list(j['models']) == ['mlp1x512'] and j['models']['mlp1x512']['n_train'] == 200
    assert j['settings']['repeats'] == 2 and len(j['models']['mlp1x512']['repeats']) == 2
    assert (tmp_path/'bench.png').exists() and (tmp_path/'bench.md').exists()
