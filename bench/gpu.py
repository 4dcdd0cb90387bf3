"""GPU training: the default config and the `etth1-s96` preset on one CUDA device, through the flow's steps.

Prints, per config: samples/s, seconds per epoch, peak GPU memory, test MSE (scaled) and the settings that
make it fast (cuDNN, bf16 autocast, windows resident on the device, the batch size).

    python bench/gpu.py                 # needs a CUDA device; exits 1 with a message otherwise
    python bench/gpu.py --batch-size 1024 --epochs 5
"""

from __future__ import annotations

import argparse
import sys

import torch

from bilstm import pipeline
from bilstm.config import PipelineConfig, with_overrides
from bilstm.data import load_table
from bilstm.defaults import resolve
from bilstm.presets import load_preset


def run(name: str, config: PipelineConfig) -> dict:
    series = load_table(config.data)
    config = resolve(config, series).config
    prepared = pipeline.split_and_scale(series, config)
    windows = pipeline.make_train_windows(prepared, config)
    torch.cuda.reset_peak_memory_stats()
    forecaster = pipeline.new_forecaster(prepared, config)
    training_log = pipeline.fit_forecaster(forecaster, windows, config, progress=False)
    peak = torch.cuda.max_memory_allocated() / 2**20
    metrics = pipeline.evaluate_forecaster(forecaster, prepared).metrics
    return {
        "config": name,
        "batch": config.train.batch_size,
        "amp": config.train.amp,
        "epochs": training_log.epochs_run,
        "samples_per_s": training_log.samples_per_s,
        "epoch_s": training_log.train_seconds / training_log.epochs_run,
        "peak_mib": peak,
        "test_mse": metrics["test_mse_scaled"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="default: each config's own")
    parser.add_argument(
        "--batch-size", type=int, nargs="+", default=[None], help="default: each config's own"
    )
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: bench/gpu.py measures GPU training only", file=sys.stderr)
        sys.exit(1)
    torch.backends.cudnn.benchmark = True
    cudnn = torch.backends.cudnn.version()
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, cuDNN {cudnn}")
    configs = {
        "default": PipelineConfig(),
        "etth1-s96": PipelineConfig.model_validate(load_preset("etth1-s96")),
    }
    rows = []
    for name, config in configs.items():
        for batch_size in args.batch_size:
            for amp in (True, False):
                train = {"train.device": "cuda", "train.amp": amp}
                if batch_size:
                    train["train.batch_size"] = batch_size
                if args.epochs:
                    train["train.epochs"] = args.epochs
                rows.append(run(name, with_overrides(config, train)))
                row = rows[-1]
                print(
                    f"{row['config']:<10} batch {row['batch']:>5} bf16 {str(row['amp']):<5}"
                    f" {row['samples_per_s']:>9.0f} samples/s {row['epoch_s']:>6.2f} s/epoch"
                    f" ({row['epochs']} epochs) peak {row['peak_mib']:>7.1f} MiB"
                    f" test MSE {row['test_mse']:.4f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
