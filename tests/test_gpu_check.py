"""The GPU check script in its CPU mode (`--device cpu --tiny`, synthetic CIFAR-shaped data): every part runs and
writes what the GPU run will. Timings are not asserted."""
import json, os, subprocess, sys
from pathlib import Path

HERE = Path(__file__).parent

def test_gpu_check_tiny_cpu(tmp_path):
    r = subprocess.run([sys.executable, str(HERE/'gpu_check.py'), '--device', 'cpu', '--tiny', '--out', str(tmp_path)],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    j = json.loads((tmp_path/'gpu.json').read_text())
    p = j['precision']
    assert p['steps'] == 4 and p['runs']['fp16'] == dict(skipped='fp16 needs CUDA (fastai to_fp16)')
    assert len(p['runs']['fp32']['loss']) == len(p['runs']['bf16']['loss']) == 4
    assert p['runs']['bf16']['max_window_diff'] == max(abs(a-b) for a, b in zip([sum(p['runs']['bf16']['loss'])/4], [sum(p['runs']['fp32']['loss'])/4]))
    assert p['runs']['bf16']['agrees'] == (p['runs']['bf16']['max_window_diff'] <= p['tolerance'])
    (b,) = j['bench']
    assert (b['model'], b['precision'], b['compile']) == ('mlp1x512', 'fp32', False)
    assert b['kit_over_limit'] > 0 and b['kit_over_limit_once'] > 0 and b['images_per_s'] > 0 and b['peak_gpu_mb'] is None
    st = j['stack'] # a stack of 2 against one run alone, 3 steps each: both timed, the ratio from them
    assert (st['k'], st['steps'], st['precision']) == (2, 3, 'fp32') and st['stacked_train_s'] > 0 and st['separate_train_s'] > 0
    assert abs(st['stacked_over_separate_runs_per_hour'] - 2*st['separate_train_s']/st['stacked_train_s']) < 1e-9
    f, pr = j['full'], j['projection']
    assert f['n_train'] == 64 and f['stopped_because'] in ('fitted', 'seconds') and f['wall_s'] > 0
    assert abs(f['train_seconds'] + f['eval_seconds'] - f['wall_s']) < 0.1 * f['wall_s'] + 1
    assert pr['table1_runs'] == 19 and pr['table1_gpu_hours'] > 0 and pr['figure1_gpu_hours'] > 0
    md = (tmp_path/'gpu.md').read_text()
    assert md.startswith('# GPU check') and 'tiny sizes, synthetic data' in md and '| bf16 |' in md and 'GPU-hours' in md and 'Stacked runs' in md

def test_gpu_check_needs_a_gpu_for_cuda(tmp_path):
    "On a machine without CUDA the default device is refused with a one-line hint"
    import torch
    if torch.cuda.is_available(): return
    r = subprocess.run([sys.executable, str(HERE/'gpu_check.py'), '--out', str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and 'use --device cpu --tiny' in r.stderr
