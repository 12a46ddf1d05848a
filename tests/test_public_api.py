"""The public API is pinned: a name added to or dropped from ``zssr_deploy.__all__`` is a decision, made here too."""

import zssr_deploy

PINNED = [
    "PRESETS", "BatchError", "BatchOptions", "CheckpointError", "Compute", "ConfigError", "FitResult", "Image", "ImageReadError",
    "ImageWriteError", "Inference", "InvalidImageError", "KernelError", "KernelSource", "ModelError", "OutputError",
    "ProviderError", "ResultsError", "ScaleError", "ZSSRConfig", "ZSSRError", "__version__", "build_config",
    "estimate_kernel", "fit", "fit_packed", "imresize", "load_kernel", "plan_batch", "plan_fit", "psnr",
    "random_gaussian_kernel", "read_image", "rgb2ycbcr", "run_batch", "run_model", "score_image", "ssim",
    "upscale_array", "upscale_image", "write_image", "ycbcr2rgb",
]


def test_the_public_names_are_the_pinned_ones_and_all_resolve():
    assert sorted(zssr_deploy.__all__) == sorted(PINNED)
    missing = [name for name in zssr_deploy.__all__ if getattr(zssr_deploy, name, None) is None]
    assert missing == []

