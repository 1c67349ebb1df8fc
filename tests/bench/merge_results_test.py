"""bench/merge_results.py: merging attend and torch results files and the side-by-side table."""

import contextlib
import io
import json
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import merge_results  # noqa: E402


def row(workload, backend, tflops, rel_err=1e-3, S=4608, causal=False):
    return {"workload": workload, "backend": backend, "dtype": "bf16", "B": 1, "Hq": 24,
            "Hkv": 24, "Sq": S, "Sk": S, "D": 128, "causal": causal, "median_ms": 1.0,
            "tflops": tflops, "rel_err": rel_err}


ATTEND = {"gpu": "NVIDIA H200", "date": "2026-11-24", "commit": "abc1234",
          "results": [row("flux", "flash", 400.0), row("hd64", "flash", 300.0),
                      row("flux", "cuda_math", 50.0, None)],
          "ceiling": {"what": "cublas bf16 gemm 8192^3 fp32-accumulate", "gflops": 750000.0}}
TORCH = {"gpu": "NVIDIA H200", "date": "2026-11-24", "commit": "abc1234",
         "results": [row("flux", "torch.flash", 320.0), row("flux", "torch.cudnn", 600.0),
                     row("hd64", "torch.flash", 250.0)],
         "skipped": [{"workload": "hd64", "backend": "torch.cudnn", "reason": "refused"}]}


class MergeTest(unittest.TestCase):
    def test_merged_file_keeps_the_schema_and_every_row(self):
        merged = merge_results.merge([ATTEND, TORCH], warn=self.fail)
        self.assertEqual(merged["gpu"], "NVIDIA H200")
        self.assertEqual(merged["commit"], "abc1234")
        self.assertEqual(len(merged["results"]), 6)
        self.assertEqual(merged["ceiling"]["gflops"], 750000.0)
        self.assertEqual(merged["skipped"][0]["backend"], "torch.cudnn")
        for r in merged["results"]:
            self.assertEqual(list(r), list(merge_results.ROW_KEYS))

    def test_table_shows_ratios_and_missing_cells(self):
        text = merge_results.table(merge_results.merge([ATTEND, TORCH], warn=self.fail))
        flux = next(line for line in text.splitlines() if line.startswith("flux"))
        self.assertIn("400.0", flux)
        self.assertIn("1.25", flux)  # 400 / 320
        self.assertIn("0.67", flux)  # 400 / 600
        hd64 = next(line for line in text.splitlines() if line.startswith("hd64"))
        self.assertTrue(hd64.rstrip().endswith("-"))  # no torch.cudnn: no ratio
        header = next(line for line in text.splitlines() if line.startswith("workload"))
        self.assertLess(header.index("cuda_math"), header.index("torch.flash"))

    def test_later_duplicate_wins_with_a_warning(self):
        again = dict(TORCH, results=[row("flux", "torch.flash", 330.0)])
        warnings = []
        merged = merge_results.merge([TORCH, again], warn=warnings.append)
        self.assertEqual(len(warnings), 1)
        flash = [r for r in merged["results"] if r["backend"] == "torch.flash"
                 and r["workload"] == "flux"]
        self.assertEqual(flash[0]["tflops"], 330.0)

    def test_device_tag(self):
        self.assertEqual(merge_results.device_tag("NVIDIA H200"), "h200")
        self.assertEqual(merge_results.device_tag("NVIDIA H100 80GB HBM3"), "h100-80gb-hbm3")
        self.assertEqual(merge_results.device_tag("cpu:AMD EPYC"), "cpu")

    def test_command_writes_the_file_and_rejects_bad_input(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, t, out = (Path(tmp) / n for n in ("a.json", "t.json", "merged.json"))
            a.write_text(json.dumps(ATTEND))
            t.write_text(json.dumps(TORCH))
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
                self.assertEqual(merge_results.main([str(a), str(t), "--out", str(out)]), 0)
                bad = Path(tmp) / "bad.json"
                bad.write_text(json.dumps({"gpu": "x", "date": "d", "commit": "c",
                                           "results": [{"workload": "flux"}]}))
                self.assertEqual(merge_results.main([str(bad), "--out", str(out)]), 1)
            self.assertEqual(len(json.loads(out.read_text())["results"]), 6)
            self.assertTrue(printed.getvalue().rstrip().endswith("skipped: hd64 torch.cudnn"))


if __name__ == "__main__":
    unittest.main()
