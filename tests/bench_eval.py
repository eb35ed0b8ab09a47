"""Issue 13's 500-image run: small Inception, CIFAR-10, random labels, until fit, one thread. Its evaluation share
with the test-set passes in `--test-precision auto` (bf16 on a CPU with AMX or AVX512-BF16) and `train` (float32),
each run once in this process's sequence, with the machine's load printed.

    python tests/bench_eval.py [--data ../shared/data/cifar10.tgz] [--out nbs/bench_results/eval_inception500_precision.json]

Writes the two records' timing and accuracy figures to `--out` (JSON) and prints a table."""
import argparse, datetime, json, os, subprocess, sys, tempfile, time
from pathlib import Path

CMD = ('rethink run --dataset cifar10 --data {data} --subset 500 --randomization random_labels --arch inception_small '
       '--epochs 80 --threads 1 --quiet --test-precision {tp} --out {out}')
KEEP = ('test_precision', 'epochs_to_fit', 'steps_to_fit', 'stopped_because', 'seconds', 'train_seconds', 'eval_seconds',
        'seconds_to_fit', 'train_acc', 'test_acc', 'test_loss')

def one(data:str, tp:str)->dict:
    with tempfile.TemporaryDirectory() as d:
        cmd = CMD.format(data=data, tp=tp, out=d)
        l0, t = os.getloadavg()[0], time.perf_counter()
        subprocess.run(cmd.split(), check=True, stdout=subprocess.DEVNULL)
        wall, l1 = time.perf_counter()-t, os.getloadavg()[0]
        r = json.loads((Path(d)/'result.json').read_text())
    res = {k: r.get(k) for k in KEEP} | dict(command=CMD.format(data=data, tp=tp, out='OUT'), process_wall_s=round(wall, 2),
                                            load_1m_start=l0, load_1m_end=l1)
    res['eval_share'] = round(r['eval_seconds']/r['seconds'], 4)
    return res

def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data', default='../shared/data/cifar10.tgz')
    p.add_argument('--out', default='nbs/bench_results/eval_inception500_precision.json')
    p.add_argument('--precisions', nargs='+', default=['auto', 'train'])
    a = p.parse_args()
    runs = [one(a.data, tp) for tp in a.precisions]
    Path(a.out).write_text(json.dumps(dict(when=str(datetime.date.today()), cpu_threads=1, runs=runs), indent=1) + '\n')
    print(f"{'test precision':>15} {'fit epoch':>9} {'wall s':>7} {'train s':>7} {'eval s':>7} {'eval share':>10} {'test acc':>8}  load")
    for r in runs:
        print(f"{r['test_precision']:>15} {r['epochs_to_fit']!s:>9} {r['seconds']:7.1f} {r['train_seconds']:7.1f} {r['eval_seconds']:7.1f} "
              f"{r['eval_share']:10.1%} {r['test_acc']:8.4f}  {r['load_1m_start']:.2f}-{r['load_1m_end']:.2f}")
    print(f"written: {a.out}")

if __name__ == '__main__': main()
