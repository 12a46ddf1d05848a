// Run an exported zssr-deploy model with the ONNX Runtime C++ API: read its metadata, super-resolve an image.
//
//   zssr_run MODEL.onnx INPUT.f32 H W C OUTPUT.f32
//
// INPUT.f32 / OUTPUT.f32: raw little-endian float32, HxWxC interleaved, values in [0, 1] (the same files as
// examples/node/run.js). The whole ZSSR inference (bicubic upscale, network, ensemble, median,
// back-projection) is inside the graph: no pre- or post-processing is needed here.
#include <onnxruntime_cxx_api.h>

#include <array>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

static std::string meta(const Ort::ModelMetadata& md, Ort::AllocatorWithDefaultOptions& alloc, const char* key) {
  Ort::AllocatedStringPtr value = md.LookupCustomMetadataMapAllocated(key, alloc);
  return value ? std::string(value.get()) : std::string();
}

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: zssr_run MODEL.onnx INPUT.f32 H W C OUTPUT.f32\n";
    return 2;
  }
  const int64_t h = std::atoll(argv[3]), w = std::atoll(argv[4]), c = std::atoll(argv[5]);
  try {
    Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "zssr");
    Ort::SessionOptions opts;
    Ort::Session session(env, argv[1], opts);
    Ort::AllocatorWithDefaultOptions alloc;

    Ort::ModelMetadata md = session.GetModelMetadata();
    const std::string version = meta(md, alloc, "zssr.format_version");
    if (version != "1") {
      std::cerr << "error: not a zssr-deploy model of format version 1 (got '" << version << "')\n";
      return 2;
    }
    std::cerr << "scale " << meta(md, alloc, "zssr.scale") << ", halo " << meta(md, alloc, "zssr.halo")
              << " LR px, ensemble " << meta(md, alloc, "zssr.ensemble") << ", bp " << meta(md, alloc, "zssr.bp_iters")
              << "\n";
    if (std::to_string(c) != meta(md, alloc, "zssr.channels")) {
      std::cerr << "error: the model takes " << meta(md, alloc, "zssr.channels") << " channels\n";
      return 2;
    }

    std::vector<float> hwc(static_cast<size_t>(h * w * c));
    std::ifstream in(argv[2], std::ios::binary);
    if (!in.read(reinterpret_cast<char*>(hwc.data()), static_cast<std::streamsize>(hwc.size() * sizeof(float)))) {
      std::cerr << "error: " << argv[2] << " holds fewer than H*W*C floats\n";
      return 2;
    }
    std::vector<float> chw(hwc.size());  // HxWxC -> 1xCxHxW
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k) chw[(k * h + y) * w + x] = hwc[(y * w + x) * c + k];

    Ort::MemoryInfo mem = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::array<int64_t, 4> shape{1, c, h, w};
    Ort::Value input = Ort::Value::CreateTensor<float>(mem, chw.data(), chw.size(), shape.data(), shape.size());
    Ort::AllocatedStringPtr in_name = session.GetInputNameAllocated(0, alloc);
    Ort::AllocatedStringPtr out_name = session.GetOutputNameAllocated(0, alloc);
    const char* in_names[] = {in_name.get()};
    const char* out_names[] = {out_name.get()};
    std::vector<Ort::Value> outputs = session.Run(Ort::RunOptions{nullptr}, in_names, &input, 1, out_names, 1);

    std::vector<int64_t> oshape = outputs[0].GetTensorTypeAndShapeInfo().GetShape();
    const int64_t oc = oshape[1], oh = oshape[2], ow = oshape[3];
    const float* data = outputs[0].GetTensorData<float>();
    std::vector<float> ohwc(static_cast<size_t>(oh * ow * oc));
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x)
        for (int64_t k = 0; k < oc; ++k) ohwc[(y * ow + x) * oc + k] = data[(k * oh + y) * ow + x];
    std::ofstream out(argv[6], std::ios::binary);
    out.write(reinterpret_cast<const char*>(ohwc.data()), static_cast<std::streamsize>(ohwc.size() * sizeof(float)));
    std::cout << oh << " " << ow << " " << oc << "\n";
  } catch (const Ort::Exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
